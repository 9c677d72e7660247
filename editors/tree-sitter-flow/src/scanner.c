// The end of an expression, which no regular token can find: an expression
// runs to the end of its line, a `;`, a comment or a closing bracket, all at
// bracket depth 0, and its brackets and strings may span lines. This is
// flow.pest's `expr` (crates/dsl/src/flow.pest), step for step:
//
//   expr       = tok ((" " | "\t")* tok)*        trailing blanks excluded
//   tok        = group | string | any char but a stop
//   stop       = blank, line break, ";", "#" not before "{", a bracket, a quote
//   group      = "(" in* ")" | "[" in* "]" | "{" in* "}"
//   in         = group | string | any char but a bracket or a quote
//   string     = "…" or '…' (backslash escapes the next char), `…` (with ${ in* })
//
// A group or string left open (at the end of the file) is not part of the
// expression, which then ends before it.

#include "tree_sitter/parser.h"

#include <stdbool.h>

enum TokenType { EXPRESSION, ERROR_SENTINEL };

// Deeper nesting than this ends the expression (no stack overflow on hostile
// input; no real expression comes near it).
#define MAX_DEPTH 256

void *tree_sitter_flow_external_scanner_create(void) { return NULL; }
void tree_sitter_flow_external_scanner_destroy(void *payload) { (void)payload; }
unsigned tree_sitter_flow_external_scanner_serialize(void *payload, char *buffer) {
  (void)payload;
  (void)buffer;
  return 0;
}
void tree_sitter_flow_external_scanner_deserialize(void *payload, const char *buffer,
                                                   unsigned length) {
  (void)payload;
  (void)buffer;
  (void)length;
}

static bool is_open(int32_t c) { return c == '(' || c == '[' || c == '{'; }
static bool is_close(int32_t c) { return c == ')' || c == ']' || c == '}'; }
static bool is_quote(int32_t c) { return c == '"' || c == '\'' || c == '`'; }

static int32_t closer_of(int32_t open) {
  return open == '(' ? ')' : open == '[' ? ']' : '}';
}

static bool scan_group(TSLexer *lexer, unsigned depth);

// A string starting at the lookahead (a quote); true if it is closed.
static bool scan_string(TSLexer *lexer, unsigned depth) {
  int32_t quote = lexer->lookahead;
  lexer->advance(lexer, false);
  while (!lexer->eof(lexer)) {
    int32_t c = lexer->lookahead;
    if (c == quote) {
      lexer->advance(lexer, false);
      return true;
    }
    if (quote == '`') {
      lexer->advance(lexer, false);
      if (c == '$' && lexer->lookahead == '{' && !scan_group(lexer, depth + 1)) return false;
    } else {
      lexer->advance(lexer, false);
      if (c == '\\') {
        if (lexer->eof(lexer)) return false;
        lexer->advance(lexer, false);
      }
    }
  }
  return false;
}

// A bracketed group starting at the lookahead (an opening bracket); true if
// it is closed by its own bracket.
static bool scan_group(TSLexer *lexer, unsigned depth) {
  if (depth > MAX_DEPTH) return false;
  int32_t close = closer_of(lexer->lookahead);
  lexer->advance(lexer, false);
  while (!lexer->eof(lexer)) {
    int32_t c = lexer->lookahead;
    if (c == close) {
      lexer->advance(lexer, false);
      return true;
    }
    if (is_open(c)) {
      if (!scan_group(lexer, depth + 1)) return false;
    } else if (is_quote(c)) {
      if (!scan_string(lexer, depth + 1)) return false;
    } else if (is_close(c)) {
      return false;
    } else {
      lexer->advance(lexer, false);
    }
  }
  return false;
}

bool tree_sitter_flow_external_scanner_scan(void *payload, TSLexer *lexer,
                                            const bool *valid_symbols) {
  (void)payload;
  // Error recovery marks every token valid: let the grammar's own tokens
  // resynchronise instead of taking any text as an expression.
  if (valid_symbols[ERROR_SENTINEL] || !valid_symbols[EXPRESSION]) return false;

  while (lexer->lookahead == ' ' || lexer->lookahead == '\t' || lexer->lookahead == '\r' ||
         lexer->lookahead == '\n') {
    lexer->advance(lexer, true);
  }

  bool found = false;
  while (!lexer->eof(lexer)) {
    int32_t c = lexer->lookahead;
    if (c == ' ' || c == '\t') {
      // Blanks between tokens belong to the expression, trailing ones do not.
      lexer->advance(lexer, false);
    } else if (c == '\n' || c == '\r' || c == ';' || is_close(c)) {
      break;
    } else if (c == '#') {
      lexer->advance(lexer, false);
      if (lexer->lookahead != '{') break;  // a comment
      // `#{`: the `#` is rhai's (a map); the `{` opens a group below.
      lexer->mark_end(lexer);
      found = true;
    } else if (is_open(c)) {
      if (!scan_group(lexer, 0)) break;
      lexer->mark_end(lexer);
      found = true;
    } else if (is_quote(c)) {
      if (!scan_string(lexer, 0)) break;
      lexer->mark_end(lexer);
      found = true;
    } else {
      lexer->advance(lexer, false);
      lexer->mark_end(lexer);
      found = true;
    }
  }
  if (found) lexer->result_symbol = EXPRESSION;
  return found;
}
