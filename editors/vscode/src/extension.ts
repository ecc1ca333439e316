// The chor extension: starts `chor lsp` and shows the projections the code lenses ask for.
import * as vscode from 'vscode';
import {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
  TransportKind,
} from 'vscode-languageclient/node';

let client: LanguageClient | undefined;

function serverOptions(): ServerOptions {
  const command =
    vscode.workspace.getConfiguration('chor').get<string>('server.path') || 'chor';
  return { command, args: ['lsp'], transport: TransportKind.stdio };
}

async function showProjection(text: string): Promise<void> {
  const doc = await vscode.workspace.openTextDocument({ content: text, language: 'chor' });
  await vscode.window.showTextDocument(doc, {
    viewColumn: vscode.ViewColumn.Beside,
    preview: true,
  });
}

export async function activate(context: vscode.ExtensionContext): Promise<void> {
  const clientOptions: LanguageClientOptions = {
    documentSelector: [{ scheme: 'file', language: 'chor' }],
    middleware: {
      // `chor.showProjection` (run by the code lenses) returns the projected program as text:
      // open it beside the choreography.
      executeCommand: async (command, args, next) => {
        try {
          const result = await next(command, args);
          if (command === 'chor.showProjection' && typeof result === 'string') {
            await showProjection(result);
          }
          return result;
        } catch (e) {
          const message = e instanceof Error ? e.message : String(e);
          void vscode.window.showErrorMessage(message);
          return undefined;
        }
      },
    },
  };
  client = new LanguageClient('chor', 'chor language server', serverOptions(), clientOptions);
  context.subscriptions.push(
    vscode.commands.registerCommand('chor.restartServer', async () => {
      await client?.restart();
    }),
  );
  await client.start();
}

export function deactivate(): Thenable<void> | undefined {
  return client?.stop();
}
