// The TextMate grammar, run by the same engine VS Code uses (vscode-textmate with the
// Oniguruma regex library), on every example and on lines with known scopes.
'use strict';
const test = require('node:test');
const assert = require('node:assert');
const fs = require('node:fs');
const path = require('node:path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const root = path.join(__dirname, '..');
const examples = path.join(root, '..', '..', 'examples');

async function loadGrammar() {
  const wasm = fs.readFileSync(
    path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm'),
  );
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  const registry = new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (sources) => new oniguruma.OnigScanner(sources),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    loadGrammar: async (scopeName) => {
      if (scopeName !== 'source.chor') return null;
      const file = path.join(root, 'syntaxes', 'chor.tmLanguage.json');
      return vsctm.parseRawGrammar(fs.readFileSync(file, 'utf8'), file);
    },
  });
  return registry.loadGrammar('source.chor');
}

const grammarP = loadGrammar();

/** Tokenizes `text`; returns [{ text, scopes }] for every token of every line. */
async function tokenize(text) {
  const grammar = await grammarP;
  let stack = vsctm.INITIAL;
  const out = [];
  for (const line of text.split('\n')) {
    const r = grammar.tokenizeLine(line, stack);
    for (const t of r.tokens) {
      out.push({ text: line.slice(t.startIndex, t.endIndex), scopes: t.scopes });
    }
    stack = r.ruleStack;
  }
  return out;
}

/** The innermost scope of the first token whose text is `text` (after `skip` others). */
function scopeOf(tokens, text, skip = 0) {
  const found = tokens.filter((t) => t.text === text);
  assert.ok(found.length > skip, `no token ${JSON.stringify(text)} in ${JSON.stringify(tokens.map((t) => t.text))}`);
  return found[skip].scopes[found[skip].scopes.length - 1];
}

test('the package declares the grammar and language configuration it ships', () => {
  const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
  const g = pkg.contributes.grammars[0];
  assert.strictEqual(g.scopeName, 'source.chor');
  assert.ok(fs.existsSync(path.join(root, g.path)));
  const lang = pkg.contributes.languages[0];
  assert.deepStrictEqual(lang.extensions, ['.chor']);
  const conf = JSON.parse(fs.readFileSync(path.join(root, lang.configuration), 'utf8'));
  assert.strictEqual(conf.comments.lineComment, '//');
  assert.deepStrictEqual(conf.comments.blockComment, ['/*', '*/']);
  assert.deepStrictEqual(conf.brackets, [['{', '}'], ['[', ']'], ['(', ')']]);
});

test('every example tokenizes, and its keywords, strings and comments get their scopes', async () => {
  const files = fs.readdirSync(examples).filter((f) => f.endsWith('.chor'));
  assert.ok(files.length >= 8, `examples: ${files}`);
  for (const f of files) {
    const text = fs.readFileSync(path.join(examples, f), 'utf8');
    const tokens = await tokenize(text);
    assert.ok(tokens.length > 0, f);
    assert.strictEqual(scopeOf(tokens, 'choreography'), 'keyword.other.choreography.chor', f);
    for (const t of tokens) {
      if (t.text === 'let') assert.strictEqual(t.scopes.at(-1), 'keyword.other.let.chor', f);
      if (t.text === '->' && !t.scopes.some((s) => s.startsWith('comment') || s.startsWith('string'))) {
        assert.ok(
          ['keyword.operator.communication.chor', 'keyword.operator.arrow.chor'].includes(t.scopes.at(-1)) ||
            t.scopes.at(-1).startsWith('keyword.operator'),
          `${f}: -> scoped ${t.scopes}`,
        );
      }
      assert.ok(!t.scopes.some((s) => s.startsWith('invalid')), `${f}: invalid token ${JSON.stringify(t)}`);
    }
  }
});

test('the design card example: roles, labels, strings, numbers and comments', async () => {
  const tokens = await tokenize(
    [
      '// bookseller.chor',
      'struct Quote { title: String, price: Int }',
      'choreography main(Buyer, Seller) {',
      '    let Buyer.title = "Types and \\"Programming\\" Languages";',
      '    Buyer.title -> Seller.title;',
      '    Seller.quote.price -> Buyer.price;',
      '    if Buyer.price <= 1_000 {',
      '        Buyer -> Seller[Buy];',
      '        /* a comment /* nested */ still',
      '           inside */ Buyer.print(3.5e-3);',
      '    }',
      '}',
      'choreography Pay(Buyer, Bank)(amount: Int@Buyer) -> Bool@Bank { return Bank.true; }',
    ].join('\n'),
  );
  assert.strictEqual(scopeOf(tokens, '// bookseller.chor'), 'comment.line.double-slash.chor');
  assert.strictEqual(scopeOf(tokens, 'Quote'), 'entity.name.type.chor');
  assert.strictEqual(scopeOf(tokens, 'main'), 'entity.name.function.choreography.chor');
  // `Buyer` in front of `.title` is a role.
  const roles = tokens.filter((t) => t.text === 'Buyer' && t.scopes.at(-1) === 'entity.name.type.role.chor');
  assert.ok(roles.length >= 4, JSON.stringify(roles));
  assert.strictEqual(scopeOf(tokens, '\\"'), 'constant.character.escape.chor');
  assert.strictEqual(scopeOf(tokens, '->'), 'keyword.operator.communication.chor');
  assert.strictEqual(scopeOf(tokens, 'Buy'), 'constant.other.label.chor');
  assert.strictEqual(scopeOf(tokens, '1_000'), 'constant.numeric.integer.chor');
  assert.strictEqual(scopeOf(tokens, '3.5e-3'), 'constant.numeric.float.chor');
  assert.strictEqual(scopeOf(tokens, 'if'), 'keyword.control.chor');
  assert.strictEqual(scopeOf(tokens, 'return'), 'keyword.control.chor');
  assert.strictEqual(scopeOf(tokens, 'true'), 'constant.language.boolean.chor');
  assert.strictEqual(scopeOf(tokens, '@'), 'keyword.operator.location.chor');
  assert.strictEqual(scopeOf(tokens, 'Bank', 1), 'entity.name.type.role.chor');
  // The nested block comment spans two lines and ends only at the outer `*/`.
  const inComment = tokens.filter((t) => t.scopes.includes('comment.block.chor')).map((t) => t.text).join('');
  assert.ok(inComment.includes('still') && inComment.includes('inside */'), inComment);
  assert.strictEqual(scopeOf(tokens, 'print'), 'entity.name.function.call.chor');
});
