/**
 * @file Tree-sitter grammar of flow's `.flow` files, for editors.
 *
 * The language's own grammar is crates/dsl/src/flow.pest (spelling in
 * docs/language.md); this one mirrors it for highlighting and structure and
 * must accept every valid flow (crates/cli/tests/tree_sitter.rs parses every
 * shipped `.flow` file with it). It is not a checker: values (durations, cron
 * strings, escapes) are checked by `flow check`, not here.
 *
 * After an edit, run `tree-sitter generate` in this folder and commit `src/`.
 */

/// <reference types="tree-sitter-cli/dsl" />
// @ts-check

/** One or more `rule`s separated by commas. */
const commaSep1 = (rule) => seq(rule, repeat(seq(',', rule)));

/** Like commaSep1, with an optional trailing comma (lists, calls). */
const commaSepTrailing = (rule) => seq(commaSep1(rule), optional(','));

module.exports = grammar({
  name: 'flow',

  // `;` separates items like a blank (pest's WHITESPACE).
  extras: ($) => [/\s/, ';', $.comment],

  // An expression (rhai source) runs to the end of its line, a `;`, a
  // comment or a closing bracket, all at bracket depth 0, and brackets and
  // strings in it may span lines: src/scanner.c finds its end as flow.pest's
  // `expr` does. The sentinel is never valid in a real parse state: seeing it
  // tells the scanner the parser is recovering from an error.
  externals: ($) => [$.expression, $._error_sentinel],

  // Keywords are words only where the grammar expects one: a stage may be
  // called `run` (no word is reserved).
  word: ($) => $.identifier,

  rules: {
    source_file: ($) => repeat(choice($.use, $.flow, $.template)),

    // ── top level ────────────────────────────────────────────────────────
    use: ($) =>
      seq(
        'use',
        choice(
          field('library', alias('std', $.std)),
          seq(field('source', $.string), 'as', field('alias', $.identifier)),
        ),
      ),

    flow: ($) =>
      seq('flow', field('name', $.identifier), field('body', $.flow_body)),

    flow_body: ($) => seq('{', repeat($._flow_item), '}'),

    _flow_item: ($) =>
      choice(
        $.stage,
        $.param,
        $.let,
        $.env,
        $.timeout,
        $.description,
        $.concurrency,
        $.skip_if,
        $.secret,
        $.finally,
        $.shell,
        $.budget,
        $.alert,
        $.trigger,
      ),

    template: ($) =>
      seq(
        'template',
        field('name', $.identifier),
        optional(field('parameters', $.template_parameters)),
        field('body', $.stage_body),
      ),

    template_parameters: ($) =>
      seq('(', optional(commaSepTrailing($.template_parameter)), ')'),

    template_parameter: ($) =>
      seq(
        field('name', $.identifier),
        ':',
        field('type', $.type),
        optional(seq('=', field('default', $._literal))),
      ),

    // ── flow items ───────────────────────────────────────────────────────
    description: ($) => seq('description', choice($.raw_string, $.string)),

    param: ($) =>
      seq(
        'param',
        field('name', $.identifier),
        ':',
        field('type', $.type),
        optional(seq('=', field('default', $._literal))),
      ),

    timeout: ($) => seq('timeout', $.duration),
    concurrency: ($) => seq('concurrency', $.integer),
    skip_if: ($) => seq('skip', 'if', $.expression),
    let: ($) => seq('let', field('name', $.identifier), '=', $.expression),
    env: ($) => seq('env', field('name', $.identifier), '=', $.expression),
    secret: ($) => seq('secret', field('name', $.identifier)),
    shell: ($) => seq('shell', $.string),

    alert: ($) =>
      seq(
        'alert',
        field('metric', $.alert_metric),
        field('operator', $.comparison_operator),
        field('threshold', choice($.number, $.duration)),
      ),
    alert_metric: ($) =>
      seq(
        field('name', $.identifier),
        optional(seq('(', field('stage', $.identifier), ')')),
      ),
    comparison_operator: (_) => choice('<=', '>=', '<', '>'),

    trigger: ($) =>
      seq('trigger', choice(seq('cron', $.string), seq('every', $.duration))),

    stage: ($) =>
      seq(
        'stage',
        field('name', $.identifier),
        optional(seq(':', field('template', $.template_call))),
        field('body', $.stage_body),
      ),

    finally: ($) =>
      seq('finally', field('name', $.identifier), field('body', $.stage_body)),

    stage_body: ($) => seq('{', repeat($._stage_item), '}'),

    template_call: ($) =>
      seq(
        optional(seq(field('library', $.identifier), '.')),
        field('name', $.identifier),
        field('arguments', $.template_arguments),
      ),

    template_arguments: ($) =>
      seq('(', optional(commaSepTrailing($.template_argument)), ')'),

    template_argument: ($) =>
      seq(field('name', $.identifier), ':', field('value', $._literal)),

    // ── stage items ──────────────────────────────────────────────────────
    _stage_item: ($) =>
      choice(
        $.needs,
        $.run,
        $.timeout,
        $.route,
        $.when,
        $.env,
        $.outputs,
        $.retry,
        $.status,
        $.max,
        $.grace,
        $.idle,
        $.approval,
        $.allow_failure,
        $.ends_run,
        $.optional_outputs,
        $.shell,
        $.budget,
      ),

    needs: ($) => seq('needs', commaSep1($.identifier)),

    // `run "…"`, `run """…"""`, or `run builtin "NAME"` (a stage run by a
    // function of the program that embeds flow).
    run: ($) =>
      seq(
        'run',
        choice(
          field('script', choice($.raw_string, $.string)),
          seq('builtin', field('builtin', $.string)),
        ),
      ),

    grace: ($) => seq('grace', $.duration),
    idle: ($) => seq('idle', $.duration),

    budget: ($) => seq('budget', commaSep1($.budget_limit)),
    budget_limit: ($) => seq($.number, field('unit', choice('usd', 'tokens'))),

    approval: ($) => seq('approval', commaSep1($.string)),

    retry: ($) =>
      seq(
        'retry',
        field('count', $.integer),
        optional(seq('delay', field('delay', $.duration))),
        optional(seq('backoff', field('backoff', $.number))),
      ),

    outputs: ($) => seq('outputs', commaSep1(choice($.string, $.path))),
    optional_outputs: ($) =>
      seq('optional', 'outputs', commaSep1(choice($.string, $.path))),

    when: ($) => seq('when', $.expression),
    status: ($) => seq('status', field('format', $.identifier)),
    max: ($) => seq('max', choice($.integer, $.identifier)),
    allow_failure: (_) => 'allow_failure',
    ends_run: ($) => seq('ends', 'run', field('outcome', $.identifier)),

    route: ($) =>
      seq(
        'on',
        field('outcome', $.route_outcome),
        '->',
        field('target', $.route_target),
      ),

    route_outcome: ($) =>
      choice(
        'success',
        'failure',
        'timeout',
        'budget',
        seq('exit', commaSep1($.integer)),
        seq('status', $.string),
      ),

    // A stage may be called `again`: it is the target unless `after` follows.
    route_target: ($) =>
      choice(
        seq('again', 'after', choice($.duration, $.identifier)),
        $.identifier,
        alias('again', $.identifier),
      ),

    // ── values ───────────────────────────────────────────────────────────
    // A `-` inside a name, but not the `-` of `->` (`on success->b`).
    identifier: (_) => /[A-Za-z_]([A-Za-z0-9_]|-+[A-Za-z0-9_])*/,

    // `str`, `list<str>`.
    type: ($) =>
      seq(
        field('name', $.identifier),
        optional(seq('<', field('element', $.identifier), '>')),
      ),

    _literal: ($) =>
      choice($.list, $.string, $.boolean, $.float, $.integer, $.duration),

    list: ($) => seq('[', optional(commaSepTrailing($._literal)), ']'),
    boolean: (_) => choice('true', 'false'),

    // A bare `5` is an integer and `1.5` a float, not a duration: on a
    // match of equal length the rule written first wins; `5m` is a
    // duration (the longer match).
    integer: (_) => /-?[0-9]+/,
    float: (_) => /-?[0-9]+\.[0-9]+([eE][+-]?[0-9]+)?/,
    number: (_) => /-?[0-9]+(\.[0-9]+)?([eE][+-]?[0-9]+)?/,
    // Permissive like flow.pest: `flow check` validates durations.
    duration: (_) => /[0-9][A-Za-z0-9.]*/,

    // An output path written without quotes: `outputs out/*.txt`.
    path: (_) => /[^\s;,{}#"]+/,

    // `"…"` on one line; escapes are checked by `flow check`.
    string: ($) =>
      seq(
        '"',
        repeat(choice($.string_content, $.escape_sequence)),
        token.immediate('"'),
      ),
    string_content: (_) => token.immediate(prec(1, /[^"\\\n]+/)),
    escape_sequence: (_) => token.immediate(/\\[^\n]/),

    // `"""…"""`, taken raw up to the first `"""`.
    raw_string: ($) =>
      seq('"""', optional($.raw_string_content), token.immediate('"""')),
    raw_string_content: (_) =>
      token.immediate(prec(1, /([^"]|"[^"]|""[^"])+/)),

    // `#` to the end of the line; `#{` opens a rhai map, never a comment.
    comment: (_) => token(seq('#', /([^{\n][^\n]*)?/)),
  },
});
