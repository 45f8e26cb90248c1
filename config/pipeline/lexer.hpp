#pragma once
// Tokenizer for HCL2 native syntax. Like hclsyntax's scanner it is modal: normal expression
// tokens, quoted templates, heredoc templates, and back to normal inside `${`/`%{` sequences.

#include <string>
#include <string_view>
#include <vector>

#include "config/pipeline/diagnostics.hpp"

namespace pikoci::hcl {

enum class tok {
  lbrace,
  rbrace,
  lbrack,
  rbrack,
  lparen,
  rparen,
  comma,
  dot,
  ellipsis,
  colon,
  question,
  assign,
  fat_arrow,
  plus,
  minus,
  star,
  slash,
  percent,
  eq,
  neq,
  lt,
  le,
  gt,
  ge,
  and_,
  or_,
  bang,
  oquote,
  cquote,  // "  "
  oheredoc,
  cheredoc,          // <<EOT / <<-EOT (text holds the marker, flush set), EOT
  template_interp,   // ${  (strip set for ${~)
  template_control,  // %{  (strip set for %{~)
  template_seq_end,  // }   closing a template sequence (strip set for ~})
  quoted_lit,        // raw characters of a quoted template (escapes not decoded)
  string_lit,        // raw characters of a heredoc line (ends with its newline, if any)
  quoted_newline,    // a newline inside a quoted template (an error for the parser)
  number,
  ident,
  newline,
  eof,
  invalid,   // a character that starts no token
  bad_utf8,  // bytes that are not UTF-8
};

struct token {
  tok type = tok::eof;
  std::string_view text;  // the token's bytes in the source
  range rng;
  bool strip = false;  // template_interp/_control: `~` after; template_seq_end: `~` before
  bool flush = false;  // oheredoc: `<<-`
};

/// Tokenizes `src` (which must outlive the tokens). Comments are dropped; a line comment that
/// ends a line yields the newline token. Unterminated block comments are reported in `diags`.
std::vector<token> tokenize(std::string_view src, diagnostics& diags);

/// Tokenizes `src` as the inside of a template (no surrounding quotes), as for parse_template.
std::vector<token> tokenize_template(std::string_view src, diagnostics& diags);

}  // namespace pikoci::hcl
