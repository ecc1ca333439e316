// The extension's entry point, run against stand-ins for the `vscode` and
// `vscode-languageclient/node` modules: it starts `chor lsp` for .chor files, honours the
// `chor.server.path` setting, opens the text returned by `chor.showProjection` beside the
// editor, reports failed commands, and stops the client on deactivation.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const Module = require('node:module');
const path = require('node:path');

function load(settings) {
  const log = { clients: [], opened: [], shown: [], errors: [], commands: {} };
  const vscode = {
    workspace: {
      getConfiguration: (section) => ({ get: (key) => settings[`${section}.${key}`] }),
      openTextDocument: async (opts) => {
        log.opened.push(opts);
        return { opts };
      },
    },
    window: {
      showTextDocument: async (doc, opts) => log.shown.push({ doc, opts }),
      showErrorMessage: async (m) => log.errors.push(m),
    },
    commands: {
      registerCommand: (name, f) => {
        log.commands[name] = f;
        return { dispose() {} };
      },
    },
    ViewColumn: { Beside: -2 },
  };
  class LanguageClient {
    constructor(id, name, server, options) {
      Object.assign(this, { id, name, server, options, started: 0, stopped: 0, restarted: 0 });
      log.clients.push(this);
    }
    async start() { this.started++; }
    async stop() { this.stopped++; }
    async restart() { this.restarted++; }
  }
  const client = { LanguageClient, TransportKind: { stdio: 0, ipc: 1 } };
  const resolve = Module._resolveFilename;
  Module._resolveFilename = function (request, ...rest) {
    if (request === 'vscode' || request === 'vscode-languageclient/node') return request;
    return resolve.call(this, request, ...rest);
  };
  require.cache.vscode = { id: 'vscode', filename: 'vscode', loaded: true, exports: vscode };
  require.cache['vscode-languageclient/node'] = {
    id: 'vscode-languageclient/node', filename: 'vscode-languageclient/node', loaded: true, exports: client,
  };
  const file = path.join(__dirname, '..', 'out', 'extension.js');
  delete require.cache[file];
  const ext = require(file);
  Module._resolveFilename = resolve;
  return { ext, log };
}

test('activation starts `chor lsp` over stdio for .chor files', async () => {
  const { ext, log } = load({});
  const context = { subscriptions: [] };
  await ext.activate(context);
  assert.strictEqual(log.clients.length, 1);
  const c = log.clients[0];
  assert.deepStrictEqual(c.server, { command: 'chor', args: ['lsp'], transport: 0 });
  assert.deepStrictEqual(c.options.documentSelector, [{ scheme: 'file', language: 'chor' }]);
  assert.strictEqual(c.started, 1);
  assert.strictEqual(context.subscriptions.length, 1);
  await log.commands['chor.restartServer']();
  assert.strictEqual(c.restarted, 1);
  await ext.deactivate();
  assert.strictEqual(c.stopped, 1);
});

test('the server path setting is used', async () => {
  const { ext, log } = load({ 'chor.server.path': '/opt/chor/bin/chor' });
  await ext.activate({ subscriptions: [] });
  assert.strictEqual(log.clients[0].server.command, '/opt/chor/bin/chor');
});

test('a projection returned by the server opens beside the editor; failures are shown', async () => {
  const { ext, log } = load({});
  await ext.activate({ subscriptions: [] });
  const run = log.clients[0].options.middleware.executeCommand;
  const text = '// role Seller\nproc main@Seller(Buyer, Seller)() {\n}\n';
  const r = await run('chor.showProjection', ['file:///b.chor', 'main', 'Seller'], async () => text);
  assert.strictEqual(r, text);
  assert.deepStrictEqual(log.opened, [{ content: text, language: 'chor' }]);
  assert.strictEqual(log.shown.length, 1);
  assert.strictEqual(log.shown[0].opts.viewColumn, -2);
  // Another command's result is passed through without opening anything.
  assert.strictEqual(await run('other', [], async () => 'x'), 'x');
  assert.strictEqual(log.opened.length, 1);
  // A failing command is reported, not thrown.
  const failed = await run('chor.showProjection', [], async () => {
    throw new Error('no choreography here');
  });
  assert.strictEqual(failed, undefined);
  assert.deepStrictEqual(log.errors, ['no choreography here']);
});
