// Tokenizes .flow files with the extension's TextMate grammar, as VS Code
// does (vscode-textmate + vscode-oniguruma), and fails on anything that
// does not look right:
//   - a region (string, script, expression, bracket) still open at the end
//     of a file: a quote or bracket the grammar misread;
//   - a non-blank character that no rule of the grammar scoped;
//   - a `stage NAME` / `finally NAME` whose name is not a function name;
//   - a `run """` script that is not embedded shell;
//   - a line that starts with an item keyword, outside a script or string,
//     whose keyword is not scoped as one; a comment line that is not one.
// Usage: node test/grammar.test.js FILE.flow… (crates/cli/tests/editors.rs
// passes every shipped flow). Prints `N passed, N failed` (files).
'use strict';

const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

const here = path.join(__dirname, '..');
const grammarPath = path.join(here, 'syntaxes', 'flow.tmLanguage.json');

const ITEM_KEYWORDS = new Set([
  'use', 'flow', 'template', 'stage', 'finally', 'param', 'let', 'env', 'secret',
  'description', 'timeout', 'concurrency', 'skip', 'shell', 'budget', 'alert', 'trigger',
  'needs', 'run', 'grace', 'idle', 'approval', 'retry', 'outputs', 'optional', 'when',
  'status', 'max', 'allow_failure', 'ends', 'on',
]);

async function registry() {
  const wasm = fs.readFileSync(require.resolve('vscode-oniguruma/release/onig.wasm'));
  await oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength));
  return new vsctm.Registry({
    onigLib: Promise.resolve({
      createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
      createOnigString: (s) => new oniguruma.OnigString(s),
    }),
    // source.shell (the scripts' embedded language) is VS Code's own
    // grammar: a stand-in without rules takes its place (with none at all,
    // vscode-textmate would drop the rule that includes it).
    loadGrammar: async (scopeName) => {
      if (scopeName === 'source.flow') {
        return vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath);
      }
      if (scopeName === 'source.shell') {
        return vsctm.parseRawGrammar(JSON.stringify({ scopeName, patterns: [] }), 'shell.json');
      }
      return null;
    },
  });
}

const has = (scopes, prefix) => scopes.some((s) => s === prefix || s.startsWith(prefix + '.'));
const inScriptOrString = (scopes) => scopes.some((s) => s.startsWith('string.') || s.startsWith('meta.embedded.'));

/** The problems of one file, as `file:line:col: message` strings. */
function check(grammar, file) {
  const problems = [];
  const lines = fs.readFileSync(file, 'utf8').split(/\r?\n/);
  let stack = vsctm.INITIAL;
  // Lines that follow `run """`: each must be tokenized as embedded shell.
  const scriptStarts = [];
  const embedded = new Set();
  lines.forEach((text, i) => {
    const where = (col) => `${file}:${i + 1}:${col + 1}`;
    const { tokens, ruleStack } = grammar.tokenizeLine(text, stack);
    stack = ruleStack;
    if (tokens.some((t) => t.scopes.includes('meta.embedded.block.shellscript'))) embedded.add(i);
    const tokenAt = (col) => tokens.find((t) => t.startIndex <= col && col < t.endIndex);
    for (const t of tokens) {
      const piece = text.slice(t.startIndex, t.endIndex);
      if (piece.trim() !== '' && t.scopes.length < 2) {
        problems.push(`${where(t.startIndex)}: \`${piece}\` has no scope`);
      }
    }
    const lead = text.length - text.trimStart().length;
    const first = tokenAt(lead);
    if (!first || inScriptOrString(first.scopes)) return;
    const word = /^[A-Za-z_]+/.exec(text.slice(lead));
    const rest = text.slice(lead);
    if (rest.startsWith('#') && !rest.startsWith('#{') && !has(first.scopes, 'comment')) {
      problems.push(`${where(lead)}: comment line not scoped as a comment (${first.scopes.join(' ')})`);
    }
    if (word && ITEM_KEYWORDS.has(word[0]) && !first.scopes.some((s) => s.startsWith('keyword.'))) {
      problems.push(`${where(lead)}: item keyword \`${word[0]}\` scoped ${first.scopes.join(' ')}`);
    }
    if (/^run\s+"""/.test(rest)) {
      const next = i + 1 < lines.length && lines[i + 1].trim() !== '' && !lines[i + 1].trim().startsWith('"""');
      if (next) scriptStarts.push(i + 1);
    }
    const head = /^(stage|finally)\s+([A-Za-z_][A-Za-z0-9_-]*)/.exec(rest);
    if (head) {
      const col = lead + rest.indexOf(head[2], head[1].length);
      const name = tokenAt(col);
      if (!name || !name.scopes.includes('entity.name.function.flow')) {
        problems.push(`${where(col)}: ${head[1]} name \`${head[2]}\` scoped ${name ? name.scopes.join(' ') : 'nothing'}`);
      }
    }
  });
  for (const i of scriptStarts) {
    if (!embedded.has(i)) problems.push(`${file}:${i + 1}:1: a \`run """\` script line is not embedded shell`);
  }
  if (stack.depth !== vsctm.INITIAL.depth) {
    problems.push(`${file}: a region is still open at the end of the file (rule stack depth ${stack.depth})`);
  }
  return problems;
}

async function main() {
  const files = process.argv.slice(2);
  if (files.length === 0) {
    console.error('usage: node test/grammar.test.js FILE.flow…');
    process.exit(2);
  }
  const grammar = await (await registry()).loadGrammar('source.flow');
  if (!grammar) throw new Error(`cannot load ${grammarPath}`);
  let passed = 0;
  let failed = 0;
  for (const file of files) {
    const problems = check(grammar, file);
    if (problems.length === 0) {
      passed += 1;
    } else {
      failed += 1;
      for (const p of problems) console.log(p);
    }
  }
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 ? 0 : 1);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
