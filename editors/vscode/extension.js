// The flow extension's client side: starts `flow lsp` (the language server,
// stdio, no arguments) for `.flow` files and restarts it when `flow.path`
// changes. Highlighting is the TextMate grammar in syntaxes/ (VS Code does
// not use tree-sitter).
'use strict';

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');

/** @type {LanguageClient | undefined} */
let client;

/** The configured binary: `flow.path`, `flow` (looked up on PATH) if unset or blank. */
function flowPath() {
  const configured = vscode.workspace.getConfiguration('flow').get('path');
  return typeof configured === 'string' && configured.trim() !== '' ? configured.trim() : 'flow';
}

async function start(context) {
  const command = flowPath();
  const serverOptions = {
    command,
    args: ['lsp'],
    transport: TransportKind.stdio,
  };
  const clientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'flow' },
      { scheme: 'untitled', language: 'flow' },
    ],
    synchronize: {
      // Libraries (`use "../lib" as x`) and skills change what a flow checks to.
      fileEvents: vscode.workspace.createFileSystemWatcher('**/{*.flow,skills/*.md}'),
    },
  };
  client = new LanguageClient('flow', 'flow language server', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    client = undefined;
    const message = err instanceof Error ? err.message : String(err);
    vscode.window.showErrorMessage(
      `flow: cannot start \`${command} lsp\` (${message}). Install flow or set \`flow.path\`.`,
    );
  }
}

async function stop() {
  const running = client;
  client = undefined;
  if (running) {
    await running.stop();
  }
}

async function restart(context) {
  await stop();
  await start(context);
}

/** @param {vscode.ExtensionContext} context */
async function activate(context) {
  context.subscriptions.push(
    vscode.commands.registerCommand('flow.restartServer', () => restart(context)),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('flow.path')) {
        restart(context);
      }
    }),
  );
  await start(context);
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };
