// The client side of the extension without VS Code: `vscode` and
// `vscode-languageclient/node` are replaced by recording fakes, then
// extension.js is activated and driven. Checks that it starts `flow lsp`
// (stdio, the `flow.path` setting or `flow`), restarts on a `flow.path`
// change and on the restart command, and says so when the server cannot
// start. Usage: node test/client.test.js. Prints `N passed, N failed`.
'use strict';

const assert = require('assert');
const Module = require('module');
const path = require('path');

/** Everything the fakes saw, reset per case. */
let world;

function reset(settings) {
  world = { settings, clients: [], errors: [], commands: {}, configListeners: [], failStart: false };
}

const fakeVscode = {
  workspace: {
    getConfiguration: (section) => ({
      get: (key) => world.settings[`${section}.${key}`],
    }),
    onDidChangeConfiguration: (listener) => {
      world.configListeners.push(listener);
      return { dispose() {} };
    },
    createFileSystemWatcher: (glob) => ({ glob, dispose() {} }),
  },
  window: {
    showErrorMessage: (message) => world.errors.push(message),
  },
  commands: {
    registerCommand: (name, fn) => {
      world.commands[name] = fn;
      return { dispose() {} };
    },
  },
};

class FakeLanguageClient {
  constructor(id, name, serverOptions, clientOptions) {
    Object.assign(this, { id, name, serverOptions, clientOptions, started: false, stopped: false });
    world.clients.push(this);
  }
  async start() {
    if (world.failStart) throw new Error('spawn flow ENOENT');
    this.started = true;
  }
  async stop() {
    this.stopped = true;
  }
}

const fakeClientLib = { LanguageClient: FakeLanguageClient, TransportKind: { stdio: 0, ipc: 1 } };

const realLoad = Module._load;
Module._load = function load(request, parent, isMain) {
  if (request === 'vscode') return fakeVscode;
  if (request === 'vscode-languageclient/node') return fakeClientLib;
  return realLoad.call(this, request, parent, isMain);
};

const extension = require(path.join(__dirname, '..', 'extension.js'));
const context = () => ({ subscriptions: [] });
const settle = () => new Promise((resolve) => setImmediate(resolve));

const cases = {
  'starts `flow lsp` over stdio for flow documents': async () => {
    reset({});
    await extension.activate(context());
    assert.strictEqual(world.clients.length, 1);
    const c = world.clients[0];
    assert.deepStrictEqual(c.serverOptions, { command: 'flow', args: ['lsp'], transport: 0 });
    assert.ok(c.started);
    const languages = c.clientOptions.documentSelector.map((s) => s.language);
    assert.deepStrictEqual([...new Set(languages)], ['flow']);
    await extension.deactivate();
    assert.ok(c.stopped);
  },
  'uses the flow.path setting; a blank one means `flow`': async () => {
    reset({ 'flow.path': '  /opt/flow/bin/flow ' });
    await extension.activate(context());
    assert.strictEqual(world.clients[0].serverOptions.command, '/opt/flow/bin/flow');
    await extension.deactivate();
    reset({ 'flow.path': '   ' });
    await extension.activate(context());
    assert.strictEqual(world.clients[0].serverOptions.command, 'flow');
    await extension.deactivate();
  },
  'a flow.path change restarts the server with the new binary': async () => {
    reset({});
    await extension.activate(context());
    world.settings['flow.path'] = '/new/flow';
    for (const l of world.configListeners) l({ affectsConfiguration: (s) => s === 'flow.path' });
    await settle();
    assert.strictEqual(world.clients.length, 2);
    assert.ok(world.clients[0].stopped);
    assert.strictEqual(world.clients[1].serverOptions.command, '/new/flow');
    assert.ok(world.clients[1].started);
    // Another setting changes nothing.
    for (const l of world.configListeners) l({ affectsConfiguration: () => false });
    await settle();
    assert.strictEqual(world.clients.length, 2);
    await extension.deactivate();
  },
  'the restart command restarts the server': async () => {
    reset({});
    await extension.activate(context());
    await world.commands['flow.restartServer']();
    assert.strictEqual(world.clients.length, 2);
    assert.ok(world.clients[0].stopped && world.clients[1].started);
    await extension.deactivate();
  },
  'a server that cannot start is reported, naming flow.path': async () => {
    reset({ 'flow.path': '/missing/flow' });
    world.failStart = true;
    await extension.activate(context());
    assert.strictEqual(world.errors.length, 1);
    assert.match(world.errors[0], /\/missing\/flow lsp/);
    assert.match(world.errors[0], /flow\.path/);
    await extension.deactivate();
  },
};

(async () => {
  let passed = 0;
  let failed = 0;
  for (const [name, run] of Object.entries(cases)) {
    try {
      await run();
      passed += 1;
    } catch (err) {
      failed += 1;
      console.log(`FAIL ${name}\n${err && err.stack}`);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
})();
