#include "config/pipeline/parser.hpp"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <map>
#include <optional>

#include "config/pipeline/lexer.hpp"
#include "config/pipeline/utf8.hpp"

namespace pikoci::hcl {
namespace {

range between(const range& a, const range& b) {
  return {a.start, b.end};
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

std::string trim_left(const std::string& s) {
  std::size_t i = 0;
  while (i < s.size() && is_space(s[i])) ++i;
  return s.substr(i);
}

std::string trim_right(const std::string& s) {
  std::size_t i = s.size();
  while (i > 0 && is_space(s[i - 1])) --i;
  return s.substr(0, i);
}

expr_ptr make(expr_kind k, range rng) {
  auto e = std::make_unique<expr>();
  e->kind = k;
  e->rng = rng;
  return e;
}

expr_ptr make_literal(value v, range rng) {
  auto e = make(expr_kind::literal, rng);
  e->lit = std::move(v);
  return e;
}

/// A raw template piece before the if/for structure is built (hclsyntax's templateToken).
struct template_part {
  enum class kind { literal, interp, if_, else_, endif, for_, endfor } k = kind::literal;
  std::string text;  // literal
  expr_ptr e;        // interp expression, if condition, for collection
  std::string key_var, val_var;
  range rng;
};

class parser {
 public:
  parser(std::vector<token> toks, diagnostics& diags, const parse_limits& limits)
      : toks_(std::move(toks)), diags_(diags), limits_(limits) {
    report_invalid_tokens();
  }

  body parse_root_body() {
    newlines_.push_back(true);
    body b = parse_body(tok::eof);
    newlines_.pop_back();
    return b;
  }

  expr_ptr parse_root_expression() {
    newlines_.push_back(false);
    auto e = parse_expression();
    if (!recovery_ && peek().type != tok::eof) {
      error(peek().rng, "Extra characters after expression",
            "An expression was successfully parsed, but extra characters were found after it.");
    }
    newlines_.pop_back();
    return e;
  }

  expr_ptr parse_root_template() {
    newlines_.push_back(false);
    auto e = parse_template(tok::eof, false, peek().rng);
    newlines_.pop_back();
    return e;
  }

 private:
  // ---- token access -------------------------------------------------------------------------

  /// Index of the next significant token; newlines are skipped where they are insignificant
  /// (inside brackets). Peeking never moves the position, so a statement can still see the
  /// newline that ends it.
  std::size_t next_index() const {
    std::size_t k = p_;
    if (!newlines_.back())
      while (toks_[k].type == tok::newline) ++k;
    return k;
  }
  const token& peek() const { return toks_[next_index()]; }
  /// The token after the next one (newline skipping as for peek).
  const token& peek2() const {
    std::size_t k = next_index();
    if (toks_[k].type == tok::eof) return toks_[k];
    ++k;
    if (!newlines_.back())
      while (toks_[k].type == tok::newline) ++k;
    return toks_[k];
  }
  token read() {
    std::size_t k = next_index();
    token t = toks_[k];
    p_ = t.type == tok::eof ? k : k + 1;
    return t;
  }
  bool peek_keyword(const char* kw) {
    const token& t = peek();
    return t.type == tok::ident && t.text == kw;
  }

  void error(range rng, std::string summary, std::string detail) {
    diags_.add(rng, std::move(summary), std::move(detail));
  }

  /// Reports an error unless the parser is already recovering from one (whatever follows the
  /// first error is noise), then recovers.
  void first_error(range rng, std::string summary, std::string detail) {
    if (!recovery_) error(rng, std::move(summary), std::move(detail));
    recovery_ = true;
  }

  /// +1 for a token that opens a nesting level, -1 for one that closes it, else 0.
  static int nesting(tok t) {
    switch (t) {
      case tok::lbrace:
      case tok::lbrack:
      case tok::lparen:
      case tok::oquote:
      case tok::oheredoc:
      case tok::template_interp:
      case tok::template_control:
        return 1;
      case tok::rbrace:
      case tok::rbrack:
      case tok::rparen:
      case tok::cquote:
      case tok::cheredoc:
      case tok::template_seq_end:
        return -1;
      default:
        return 0;
    }
  }

  /// Skips to the end of the current line at the current bracket depth (body-level recovery).
  /// A `}` at depth 0 is left for the enclosing block.
  void recover_line() {
    for (int depth = 0;; ++p_) {
      const token& t = toks_[p_];
      if (t.type == tok::eof) return;
      if (depth == 0 && (t.type == tok::newline || t.type == tok::rbrace)) return;
      depth += nesting(t.type);
    }
  }

  /// Skips tokens until `end` at the current nesting and consumes it (expression-level
  /// recovery). Stops without consuming at an unbalanced closer or the end of the file.
  token recover_to(tok end) {
    for (int depth = 0;; ++p_) {
      const token& t = toks_[p_];
      if (t.type == tok::eof) return t;
      if (depth == 0 && t.type == end) return toks_[p_++];
      int n = nesting(t.type);
      if (n < 0 && depth == 0) return t;
      depth += n;
    }
  }

  struct depth_guard {
    parser& p;
    bool ok;
    explicit depth_guard(parser& ps) : p(ps), ok(++ps.depth_ <= ps.limits_.max_depth) {
      if (!ok && !ps.too_deep_) {
        ps.too_deep_ = true;
        ps.error(ps.toks_[ps.p_].rng, "Nesting too deep",
                 "This file nests blocks, brackets or templates more deeply than " +
                     std::to_string(ps.limits_.max_depth) + " levels.");
      }
    }
    ~depth_guard() { --p.depth_; }
  };

  void report_invalid_tokens() {
    for (const auto& t : toks_) {
      if (t.type == tok::bad_utf8) {
        error(t.rng, "Invalid character encoding",
              "All input files must be UTF-8 encoded. Ensure that UTF-8 encoding is selected in "
              "your editor.");
      } else if (t.type == tok::invalid) {
        std::string_view s = t.text;
        if (s == "&" || s == "|" || s == "^") {
          error(t.rng, "Unsupported operator", "Bitwise operators are not supported.");
        } else if (s == "`") {
          error(t.rng, "Invalid character",
                "The \"`\" character is not valid. To create a multi-line string, use the "
                "\"heredoc\" syntax, like \"<<EOT\".");
        } else if (s == "'") {
          error(t.rng, "Invalid character",
                "Single quotes are not valid. Use double quotes (\") to enclose strings.");
        } else if (s == ";") {
          error(t.rng, "Invalid character",
                "The \";\" character is not valid. Use newlines to separate arguments and "
                "blocks, and commas to separate items in collection values.");
        } else if (s == "\xE2\x80\x9C" || s == "\xE2\x80\x9D") {
          error(t.rng, "Invalid character",
                "\"Curly quotes\" are not valid here. These can sometimes be inadvertently "
                "introduced when sharing code via documents or discussion forums. It might help "
                "to replace the character with a \"straight quote\".");
        } else {
          error(t.rng, "Invalid character", "This character is not used within the language.");
        }
      } else if (t.type == tok::quoted_newline) {
        error(t.rng, "Invalid multi-line string",
              "Quoted strings may not be split over multiple lines. To produce a multi-line "
              "string, either use the \\n escape to represent a newline character or use the "
              "\"heredoc\" multi-line template syntax.");
      }
    }
    reported_invalid_ = diags_.has_errors();
  }

  // ---- bodies -------------------------------------------------------------------------------

  body parse_body(tok end) {
    body b;
    b.rng.start = toks_[p_].rng.start;
    std::map<std::string, range> seen;
    while (true) {
      const token& t = peek();
      if (t.type == tok::newline) {
        read();
        continue;
      }
      if (t.type == end || t.type == tok::eof) break;
      if (too_deep_) {
        p_ = toks_.size() - 1;
        break;
      }
      if (t.type != tok::ident) {
        if (t.type == tok::rbrace) {
          // a `}` with no block open: report and consume it, or recovery would stop on it forever
          first_error(t.rng, "Argument or block definition required",
                      "An argument or block definition is required here.");
          ++p_;
          continue;
        }
        if (t.type == tok::oquote) {
          error(t.rng, "Invalid argument name", "Argument names must not be quoted.");
        } else if (!recovery_) {
          error(t.rng, "Argument or block definition required",
                "An argument or block definition is required here.");
        }
        skip_bad_item();
        continue;
      }
      const token& next = peek2();
      if (next.type == tok::assign) {
        attribute a = parse_attribute();
        auto it = seen.find(a.name);
        if (it != seen.end()) {
          error(a.name_rng, "Attribute redefined",
                "The argument \"" + a.name + "\" was already set at " +
                    std::to_string(it->second.start.line) + "," +
                    std::to_string(it->second.start.column) +
                    ". Each argument may be set only once.");
        } else {
          seen.emplace(a.name, a.name_rng);
          b.attributes.push_back(std::move(a));
        }
      } else if (next.type == tok::oquote || next.type == tok::ident || next.type == tok::lbrace) {
        if (auto blk = parse_block()) b.blocks.push_back(std::move(*blk));
      } else {
        read();
        if (!recovery_) {
          error(next.rng, "Argument or block definition required",
                "An argument or block definition is required here. To set an argument, use the "
                "equals sign \"=\" to introduce the argument value.");
        }
        skip_bad_item();
      }
      recovery_ = false;
    }
    b.rng.end = toks_[p_].rng.start;
    return b;
  }

  /// After an error at body level: skip the rest of the line, and a whole `{ ... }` if the
  /// line opens one, so a broken block header does not spill its content into the parent.
  void skip_bad_item() {
    recovery_ = true;
    recover_line();
    if (toks_[p_].type == tok::newline) ++p_;
  }

  attribute parse_attribute() {
    attribute a;
    token name = read();
    a.name = std::string(name.text);
    a.name_rng = name.rng;
    read();  // '='
    a.value = parse_expression();
    a.rng = between(name.rng, a.value->rng);
    const token& end = toks_[p_];
    if (end.type != tok::newline && end.type != tok::eof) {
      first_error(end.rng, "Missing newline after argument",
                  "An argument definition must end with a newline.");
      recover_line();
    }
    if (toks_[p_].type == tok::newline) ++p_;
    return a;
  }

  std::optional<block> parse_block() {
    depth_guard guard(*this);
    block blk;
    token type = read();
    blk.type = std::string(type.text);
    blk.type_rng = type.rng;
    // labels
    while (true) {
      const token& t = toks_[p_];
      if (t.type == tok::ident) {
        blk.labels.emplace_back(t.text);
        blk.label_rngs.push_back(t.rng);
        ++p_;
      } else if (t.type == tok::oquote) {
        range rng;
        auto label = parse_quoted_string_literal(rng);
        if (!label) {
          skip_bad_item();
          return std::nullopt;
        }
        blk.labels.push_back(std::move(*label));
        blk.label_rngs.push_back(rng);
      } else if (t.type == tok::lbrace) {
        break;
      } else {
        if (t.type == tok::assign) {
          error(t.rng, "Invalid block definition",
                "The equals sign \"=\" indicates an argument definition, and must not be used "
                "when defining a block.");
        } else if (t.type == tok::newline) {
          error(t.rng, "Invalid block definition",
                "A block definition must have block content delimited by \"{\" and \"}\", "
                "starting on the same line as the block header.");
        } else {
          error(t.rng, "Invalid block definition",
                "Either a quoted string block label or an opening brace (\"{\") is expected "
                "here.");
        }
        skip_bad_item();
        return std::nullopt;
      }
    }
    if (!guard.ok) {
      p_ = toks_.size() - 1;
      return std::nullopt;
    }
    token open = toks_[p_++];
    blk.open_brace_rng = open.rng;
    blk.content = std::make_unique<body>();
    if (toks_[p_].type == tok::newline) {
      // multi-line block
      newlines_.push_back(true);
      *blk.content = parse_body(tok::rbrace);
      newlines_.pop_back();
      const token& close = toks_[p_];
      if (close.type != tok::rbrace) {
        if (!too_deep_) {
          error(open.rng, "Unclosed configuration block",
                "There is no closing brace for this block before the end of the file. This may "
                "be caused by incorrect brace nesting elsewhere in this file.");
        }
        blk.rng = between(type.rng, close.rng);
        return blk;
      }
      ++p_;
      blk.rng = between(type.rng, close.rng);
    } else {
      if (!parse_single_line_body(blk)) return blk;
    }
    const token& after = toks_[p_];
    if (after.type == tok::newline) {
      ++p_;
    } else if (after.type != tok::eof) {
      error(after.rng, "Missing newline after block definition",
            "A block definition must end with a newline.");
      recovery_ = true;
      recover_line();
    }
    return blk;
  }

  /// `label { name = expr }` or `label {}` on one line. False when recovery consumed the rest.
  bool parse_single_line_body(block& blk) {
    blk.content->rng.start = toks_[p_].rng.start;
    const token& t = toks_[p_];
    if (t.type == tok::rbrace) {
      blk.rng = between(blk.type_rng, t.rng);
      blk.content->rng.end = t.rng.start;
      ++p_;
      return true;
    }
    if (t.type == tok::ident && toks_[p_ + 1].type == tok::assign) {
      newlines_.push_back(true);
      attribute a;
      token name = toks_[p_];
      p_ += 2;
      a.name = std::string(name.text);
      a.name_rng = name.rng;
      a.value = parse_expression();
      a.rng = between(name.rng, a.value->rng);
      newlines_.pop_back();
      blk.content->attributes.push_back(std::move(a));
      const token& close = toks_[p_];
      if (close.type == tok::rbrace) {
        blk.rng = between(blk.type_rng, close.rng);
        blk.content->rng.end = close.rng.start;
        ++p_;
        return true;
      }
      if (!recovery_) {
        if (close.type == tok::comma) {
          error(close.rng, "Invalid single-argument block definition",
                "Single-line block syntax can include only one argument definition. To define "
                "multiple arguments, use the multi-line block syntax with one argument "
                "definition per line.");
        } else if (close.type == tok::newline) {
          error(close.rng, "Invalid single-argument block definition",
                "An argument definition on the same line as its containing block creates a "
                "single-line block definition, which must also be closed on the same line. Place "
                "the block's closing brace immediately after the argument definition.");
        } else if (close.type == tok::eof) {
          error(blk.open_brace_rng, "Unclosed configuration block",
                "There is no closing brace for this block before the end of the file. This may "
                "be caused by incorrect brace nesting elsewhere in this file.");
        } else {
          error(close.rng, "Invalid single-argument block definition",
                "A single-line block definition must end with a closing brace immediately after "
                "its single argument definition.");
        }
      }
    } else if (!recovery_) {
      error(t.rng, "Argument definition required",
            "A single-line block definition can contain only a single argument. If you meant to "
            "define argument \"" +
                std::string(t.text) +
                "\", use an equals sign to assign it a "
                "value. To define a nested block, place it on a line of its own within its parent "
                "block.");
    }
    blk.rng = between(blk.type_rng, toks_[p_].rng);
    skip_to_block_close();
    return false;
  }

  /// Recovery for a broken single-line block: skip through the matching `}` if it is on this
  /// line, then the rest of the line.
  void skip_to_block_close() {
    recovery_ = true;
    int depth = 0;
    while (toks_[p_].type != tok::eof) {
      tok ty = toks_[p_].type;
      if (ty == tok::newline && depth == 0) break;
      if (ty == tok::lbrace) ++depth;
      if (ty == tok::rbrace) {
        if (depth == 0) {
          ++p_;
          break;
        }
        --depth;
      }
      ++p_;
    }
    recover_line();
    if (toks_[p_].type == tok::newline) ++p_;
  }

  /// A quoted string without template sequences (block labels).
  std::optional<std::string> parse_quoted_string_literal(range& rng) {
    token open = toks_[p_++];
    std::string out;
    bool ok = true;
    while (true) {
      const token& t = toks_[p_];
      if (t.type == tok::cquote) {
        rng = between(open.rng, t.rng);
        ++p_;
        break;
      }
      if (t.type == tok::quoted_lit) {
        out += decode_literal(t, true);
        ++p_;
        continue;
      }
      if (t.type == tok::template_interp || t.type == tok::template_control) {
        error(t.rng, "Invalid string literal",
              "Template sequences are not allowed in this string. To include a literal \"" +
                  std::string(1, t.text[0]) + "\", double it (as \"" + std::string(2, t.text[0]) +
                  "\") to escape it.");
        ok = false;
        recover_to(tok::template_seq_end);
        continue;
      }
      if (t.type == tok::eof || t.type == tok::newline || t.type == tok::quoted_newline) {
        if (t.type != tok::quoted_newline) {
          error(open.rng, "Unterminated string literal",
                "Unable to find the closing quote mark before the end of the file.");
        }
        return std::nullopt;
      }
      if (t.type != tok::bad_utf8 && t.type != tok::invalid) {
        error(t.rng, "Invalid string literal", "This item is not valid in a string literal.");
      }
      ok = false;
      ++p_;
    }
    if (!ok) return std::nullopt;
    return out;
  }

  /// Decodes a template literal chunk: escapes in quoted strings, `$${` / `%%{` everywhere.
  std::string decode_literal(const token& t, bool quoted) {
    std::string out;
    std::string_view s = t.text;
    for (std::size_t i = 0; i < s.size(); ++i) {
      char c = s[i];
      if ((c == '$' || c == '%') && i + 2 < s.size() && s[i + 1] == c && s[i + 2] == '{') {
        out += c;
        out += '{';
        i += 2;
        continue;
      }
      if (!quoted || c != '\\' || i + 1 >= s.size()) {
        out += c;
        continue;
      }
      char e = s[++i];
      switch (e) {
        case 'n':
          out += '\n';
          break;
        case 'r':
          out += '\r';
          break;
        case 't':
          out += '\t';
          break;
        case '"':
          out += '"';
          break;
        case '\\':
          out += '\\';
          break;
        case 'u':
        case 'U': {
          std::size_t n = e == 'u' ? 4 : 8;
          std::uint32_t cp = 0;
          bool ok = true;
          std::size_t k = 0;
          for (; ok && k < n; ++k) {
            if (i + 1 + k >= s.size()) {
              ok = false;
              break;
            }
            char h = s[i + 1 + k];
            int d = (h >= '0' && h <= '9')   ? h - '0'
                    : (h >= 'a' && h <= 'f') ? h - 'a' + 10
                    : (h >= 'A' && h <= 'F') ? h - 'A' + 10
                                             : -1;
            if (d < 0) {
              ok = false;
              break;
            }
            cp = cp * 16 + static_cast<std::uint32_t>(d);
          }
          if (!ok || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
            error(escape_range(t, i - 1, 2 + k), "Invalid escape sequence",
                  "The \\" + std::string(1, e) + " escape sequence must be followed by " +
                      std::to_string(n) + " hexadecimal digits.");
            i += k;
            break;
          }
          append_utf8(out, cp);
          i += n;
          break;
        }
        default:
          error(
              escape_range(t, i - 1, 2), "Invalid escape sequence",
              "The symbol \"" + std::string(1, e) + "\" is not a valid escape sequence selector.");
          out += e;
      }
    }
    return out;
  }

  /// Range of bytes [offset, offset+len) within a single-line token.
  range escape_range(const token& t, std::size_t offset, std::size_t len) {
    range r = t.rng;
    int cols = 0;
    for (std::size_t k = 0; k < offset && k < t.text.size(); ++k)
      if ((static_cast<unsigned char>(t.text[k]) & 0xC0) != 0x80) ++cols;
    r.start.column += cols;
    r.start.byte += offset;
    r.end = r.start;
    r.end.column += static_cast<int>(len);
    r.end.byte += len;
    return r;
  }

  // ---- expressions ----------------------------------------------------------------------------

  expr_ptr error_placeholder(range rng) { return make_literal(value{}, rng); }

  expr_ptr parse_expression() {
    depth_guard guard(*this);
    if (!guard.ok) return give_up();
    return parse_ternary();
  }

  /// Used when nesting is too deep: abandon the rest of the input.
  expr_ptr give_up() {
    range rng = toks_[p_].rng;
    p_ = toks_.size() - 1;
    recovery_ = true;
    return error_placeholder(rng);
  }

  expr_ptr parse_ternary() {
    auto cond = parse_binary(0);
    if (peek().type != tok::question) return cond;
    read();
    auto t = parse_expression();
    if (peek().type != tok::colon) {
      first_error(
          peek().rng, "Missing false expression in conditional",
          "The conditional operator (...?...:...) requires a false expression, delimited by "
          "a colon.");
      return cond;
    }
    read();
    auto f = parse_expression();
    auto e = make(expr_kind::conditional, between(cond->rng, f->rng));
    e->a = std::move(cond);
    e->b = std::move(t);
    e->c = std::move(f);
    return e;
  }

  static int precedence_level(tok t) {
    switch (t) {
      case tok::or_:
        return 0;
      case tok::and_:
        return 1;
      case tok::eq:
      case tok::neq:
        return 2;
      case tok::gt:
      case tok::ge:
      case tok::lt:
      case tok::le:
        return 3;
      case tok::plus:
      case tok::minus:
        return 4;
      case tok::star:
      case tok::slash:
      case tok::percent:
        return 5;
      default:
        return -1;
    }
  }

  expr_ptr parse_binary(int level) {
    if (level > 5) return parse_unary_or_term();
    auto lhs = parse_binary(level + 1);
    while (precedence_level(peek().type) == level) {
      token op = read();
      auto rhs = parse_binary(level + 1);
      auto e = make(expr_kind::binary, between(lhs->rng, rhs->rng));
      e->name = std::string(op.text);
      e->a = std::move(lhs);
      e->b = std::move(rhs);
      lhs = std::move(e);
    }
    return lhs;
  }

  expr_ptr parse_unary_or_term() {
    depth_guard guard(*this);
    if (!guard.ok) return give_up();
    const token& t = peek();
    if (t.type == tok::minus || t.type == tok::bang) {
      token op = read();
      auto operand = parse_unary_or_term();
      auto e = make(expr_kind::unary, between(op.rng, operand->rng));
      e->name = std::string(op.text);
      e->a = std::move(operand);
      return e;
    }
    return parse_traversals(parse_term());
  }

  expr_ptr parse_term() {
    token t = peek();
    switch (t.type) {
      case tok::lparen: {
        read();
        newlines_.push_back(false);
        auto inner = parse_expression();
        const token& close = peek();
        if (close.type != tok::rparen) {
          first_error(close.rng, "Unbalanced parentheses",
                      "Expected a closing parenthesis to terminate the expression.");
          recover_to(tok::rparen);
        } else {
          read();
        }
        newlines_.pop_back();
        auto e = make(expr_kind::parens, between(t.rng, toks_[p_ - 1].rng));
        e->a = std::move(inner);
        return e;
      }
      case tok::number: {
        read();
        std::string text(t.text);
        char* end = nullptr;
        errno = 0;
        double d = std::strtod(text.c_str(), &end);
        if (end != text.c_str() + text.size()) {
          error(t.rng, "Invalid number literal",
                "Failed to recognize the value of this number literal.");
          return error_placeholder(t.rng);
        }
        return make_literal(value::number(d), t.rng);
      }
      case tok::ident: {
        read();
        if (t.text == "true" || t.text == "false")
          return make_literal(value::boolean(t.text == "true"), t.rng);
        if (t.text == "null") return make_literal(value{}, t.rng);
        if (peek().type == tok::lparen) return parse_call(t);
        auto e = make(expr_kind::scope_traversal, t.rng);
        e->name = std::string(t.text);
        return e;
      }
      case tok::oquote: {
        read();
        return parse_template(tok::cquote, false, t.rng);
      }
      case tok::oheredoc: {
        read();
        return parse_template(tok::cheredoc, t.flush, t.rng);
      }
      case tok::lbrack:
        return parse_tuple();
      case tok::lbrace:
        return parse_object();
      case tok::eof:
        first_error(t.rng, "Missing expression",
                    "Expected the start of an expression, but found the end of the file.");
        return error_placeholder(t.rng);
      default:
        if (!recovery_ &&
            !(reported_invalid_ && (t.type == tok::invalid || t.type == tok::bad_utf8))) {
          error(t.rng, "Invalid expression",
                "Expected the start of an expression, but found an invalid expression token.");
        }
        recovery_ = true;
        if (t.type != tok::newline && t.type != tok::rbrace && t.type != tok::rbrack &&
            t.type != tok::rparen && t.type != tok::cquote && t.type != tok::template_seq_end)
          read();
        return error_placeholder(t.rng);
    }
  }

  /// What to say when a comma-separated list is not closed properly.
  struct list_errors {
    range unterminated_at;
    const char* unterminated_summary;
    const char* unterminated_detail;
    const char* separator_summary;
    const char* separator_detail;
  };

  /// `expr, expr, ...` up to `close` (the opener already read, newlines ignored by the caller).
  /// With `expand`, a final `expr...` is allowed and flagged. Returns the range of the closing
  /// token, or of where recovery stopped.
  range parse_list(tok close, std::vector<expr_ptr>& items, bool* expand, const list_errors& errs) {
    while (peek().type != close) {
      items.push_back(parse_expression());
      const token& sep = peek();
      if (expand != nullptr && sep.type == tok::ellipsis) {
        read();
        *expand = true;
        if (peek().type == close) break;
        first_error(peek().rng, "Missing closing parenthesis",
                    "An expanded function argument (with ...) must be immediately followed by "
                    "closing parentheses.");
        recover_to(close);
        return toks_[p_ - 1].rng;
      }
      if (sep.type == tok::comma) {
        read();
        continue;
      }
      if (sep.type == close) break;
      if (!recovery_) {
        if (sep.type == tok::eof) {
          error(errs.unterminated_at, errs.unterminated_summary, errs.unterminated_detail);
        } else {
          error(sep.rng, errs.separator_summary, errs.separator_detail);
        }
      }
      recovery_ = true;
      recover_to(close);
      return toks_[p_ - 1].rng;
    }
    return read().rng;
  }

  expr_ptr parse_call(const token& name) {
    read();  // (
    auto e = make(expr_kind::call, name.rng);
    e->name = std::string(name.text);
    newlines_.push_back(false);
    range close = parse_list(
        tok::rparen, e->items, &e->expand_final,
        {name.rng, "Unterminated function call",
         "There is no closing parenthesis for this function call before the end of the file. "
         "This may be caused by incorrect parenthesis nesting elsewhere in this file.",
         "Missing argument separator",
         "A comma is required to separate each function argument from the next."});
    newlines_.pop_back();
    e->rng = between(name.rng, close);
    return e;
  }

  expr_ptr parse_tuple() {
    token open = read();
    newlines_.push_back(false);
    if (peek_keyword("for") && peek2().type == tok::ident) {
      auto e = parse_for(open, true);
      newlines_.pop_back();
      return e;
    }
    auto e = make(expr_kind::tuple, open.rng);
    range close = parse_list(
        tok::rbrack, e->items, nullptr,
        {open.rng, "Unterminated tuple constructor expression",
         "There is no corresponding closing bracket before the end of the file. This may be "
         "caused by incorrect bracket nesting elsewhere in this file.",
         "Missing item separator", "Expected a comma to mark the beginning of the next item."});
    newlines_.pop_back();
    e->rng = between(open.rng, close);
    return e;
  }

  // The key of an object constructor's item starting at `t` (peeked), up to its `=` or `:`.
  expr_ptr parse_object_key(const token& t) {
    newlines_.push_back(false);
    expr_ptr key_inner;
    const token& after_key = peek2();
    if (t.type == tok::ident && (after_key.type == tok::assign || after_key.type == tok::colon)) {
      // a bare name (also `true`, `null`, `for`) is a literal key, never a reference
      token name = read();
      key_inner = make(expr_kind::scope_traversal, name.rng);
      key_inner->name = std::string(name.text);
    } else {
      key_inner = parse_expression();
    }
    newlines_.pop_back();
    auto key = make(expr_kind::object_key, key_inner->rng);
    key->a = std::move(key_inner);
    return key;
  }

  expr_ptr parse_object() {
    token open = read();
    if (peek_keyword_any_newline("for")) {
      newlines_.push_back(false);
      auto e = parse_for(open, false);
      newlines_.pop_back();
      return e;
    }
    newlines_.push_back(true);
    auto e = make(expr_kind::object, open.rng);
    while (true) {
      const token& t = peek();
      if (t.type == tok::newline) {
        read();
        continue;
      }
      if (t.type == tok::rbrace) break;
      if (t.type == tok::eof) {
        first_error(open.rng, "Unterminated object constructor expression",
                    "There is no corresponding closing brace before the end of the file. This may "
                    "be caused by incorrect brace nesting elsewhere in this file.");
        newlines_.pop_back();
        return e;
      }
      auto key = parse_object_key(t);
      const token& sep = peek();
      if (sep.type != tok::assign && sep.type != tok::colon) {
        if (!recovery_) {
          if (sep.type == tok::comma) {
            error(sep.rng, "Missing attribute value",
                  "Expected an attribute value, introduced by an equals sign (\"=\").");
          } else {
            error(sep.rng, "Missing key/value separator",
                  "Expected an equals sign (\"=\") to mark the beginning of the attribute value.");
          }
        }
        recovery_ = true;
        recover_to(tok::rbrace);
        newlines_.pop_back();
        e->rng = between(open.rng, toks_[p_ - 1].rng);
        return e;
      }
      read();
      newlines_.push_back(false);
      auto val = parse_expression();
      newlines_.pop_back();
      e->pairs.emplace_back(std::move(key), std::move(val));
      const token& after = peek();
      if (after.type == tok::comma || after.type == tok::newline) {
        read();
        continue;
      }
      if (after.type == tok::rbrace) break;
      if (!recovery_) {
        if (after.type == tok::eof) {
          error(open.rng, "Unterminated object constructor expression",
                "There is no corresponding closing brace before the end of the file. This may "
                "be caused by incorrect brace nesting elsewhere in this file.");
        } else {
          error(after.rng, "Missing attribute separator",
                "Expected a newline or comma to mark the beginning of the next attribute.");
        }
      }
      recovery_ = true;
      recover_to(tok::rbrace);
      newlines_.pop_back();
      e->rng = between(open.rng, toks_[p_ - 1].rng);
      return e;
    }
    token close = read();
    newlines_.pop_back();
    e->rng = between(open.rng, close.rng);
    return e;
  }

  /// `{` followed (across newlines) by `for <ident>` starts a for expression.
  bool peek_keyword_any_newline(const char* kw) {
    std::size_t k = p_;
    while (toks_[k].type == tok::newline) ++k;
    if (toks_[k].type != tok::ident || toks_[k].text != kw) return false;
    std::size_t j = k + 1;
    while (toks_[j].type == tok::newline) ++j;
    return toks_[j].type == tok::ident;
  }

  expr_ptr parse_for(const token& open, bool tuple) {
    tok close_tok = tuple ? tok::rbrack : tok::rbrace;
    auto e = make(tuple ? expr_kind::for_tuple : expr_kind::for_object, open.rng);
    read();  // for
    // A broken `for` becomes a placeholder: its parts are incomplete and must not be evaluated.
    auto fail = [&](const std::string& detail) {
      if (!recovery_) error(peek().rng, "Invalid 'for' expression", detail);
      recovery_ = true;
      recover_to(close_tok);
      return error_placeholder(between(open.rng, toks_[p_ - 1].rng));
    };
    e->val_var = std::string(read().text);
    if (peek().type == tok::comma) {
      read();
      if (peek().type != tok::ident)
        return fail("For expression requires value variable name after comma.");
      e->key_var = e->val_var;
      e->val_var = std::string(read().text);
    }
    if (!peek_keyword("in"))
      return fail("For expression requires the 'in' keyword after its name declarations.");
    read();
    e->a = parse_expression();
    if (peek().type != tok::colon)
      return fail("For expression requires a colon after the collection expression.");
    read();
    e->b = parse_expression();
    if (!tuple) {
      if (peek().type != tok::fat_arrow)
        return fail("For expression requires the => operator after the key expression.");
      read();
      e->d = parse_expression();
      if (peek().type == tok::ellipsis) {
        read();
        e->grouped = true;
      }
    }
    if (peek_keyword("if")) {
      read();
      e->c = parse_expression();
    }
    if (peek().type != close_tok) {
      std::string which = tuple ? "bracket" : "brace";
      return fail("Extra characters after the end of the 'for' expression; expected a closing " +
                  which + ".");
    }
    token close = read();
    e->rng = between(open.rng, close.rng);
    if (tuple) {
      // keep operands uniform: b = value expression for tuples; key/value for objects
    } else {
      std::swap(e->b, e->d);  // b = value, d = key
    }
    return e;
  }

  // An index (`[key]`) or a full splat (`[*]`) after `from`, at the opening bracket.
  expr_ptr parse_bracket(expr_ptr from) {
    token open = read();
    if (peek().type == tok::star) {
      read();
      token close = read();
      if (close.type != tok::rbrack) {
        first_error(close.rng, "Missing close bracket on splat index",
                    "The star for a full splat operator must be immediately followed by a "
                    "closing bracket (\"]\").");
        recover_to(tok::rbrack);
      }
      auto item = make(expr_kind::splat_item, between(open.rng, close.rng));
      item->name = next_splat_id();
      std::string id = item->name;
      auto each = parse_traversals(std::move(item));
      auto e = make(expr_kind::splat, between(from->rng, each->rng));
      e->name = id;
      e->a = std::move(from);
      e->b = std::move(each);
      return e;
    }
    newlines_.push_back(false);
    auto key = parse_expression();
    token close = peek();
    if (close.type != tok::rbrack) {
      first_error(close.rng, "Missing close bracket on index",
                  "The index operator must end with a closing bracket (\"]\").");
      close = recover_to(tok::rbrack);
    } else {
      read();
    }
    newlines_.pop_back();
    if (key->kind == expr_kind::literal) {
      traverser step;
      step.k = traverser::kind::index;
      step.key = key->lit;
      step.rng = between(open.rng, close.rng);
      from = add_step(std::move(from), std::move(step));
    } else {
      auto e = make(expr_kind::index, between(from->rng, close.rng));
      e->a = std::move(from);
      e->b = std::move(key);
      from = std::move(e);
    }
    return from;
  }

  expr_ptr parse_traversals(expr_ptr from) {
    while (true) {
      const token& t = peek();
      if (t.type == tok::dot) {
        token dot = read();
        const token& name = peek();
        if (name.type == tok::ident) {
          token n = read();
          traverser step;
          step.k = traverser::kind::attr;
          step.name = std::string(n.text);
          step.rng = between(dot.rng, n.rng);
          from = add_step(std::move(from), std::move(step));
        } else if (name.type == tok::number) {
          token n = read();
          if (n.text.find('.') != std::string_view::npos) {
            first_error(n.rng, "Invalid legacy index syntax",
                        "When using the legacy index syntax, chaining two indexes together is not "
                        "permitted. Use the proper index syntax instead, like [0][1].");
            continue;
          }
          traverser step;
          step.k = traverser::kind::index;
          step.key = value::number(std::strtod(std::string(n.text).c_str(), nullptr));
          step.rng = between(dot.rng, n.rng);
          from = add_step(std::move(from), std::move(step));
        } else if (name.type == tok::star) {
          token star = read();
          from = parse_attr_splat(std::move(from), between(dot.rng, star.rng));
        } else {
          first_error(name.rng, "Invalid attribute name",
                      "An attribute name is required after a dot.");
          return from;
        }
      } else if (t.type == tok::lbrack) {
        from = parse_bracket(std::move(from));
      } else {
        return from;
      }
    }
  }

  /// `.*` followed by `.name` / `.N` steps only.
  expr_ptr parse_attr_splat(expr_ptr from, range marker) {
    auto item = make(expr_kind::splat_item, marker);
    item->name = next_splat_id();
    std::string id = item->name;
    expr_ptr each = std::move(item);
    while (peek().type == tok::dot) {
      const token& after = peek2();
      if (after.type != tok::ident && after.type != tok::number) {
        if (after.type == tok::star) {
          read();
          first_error(peek().rng, "Nested splat expression not allowed",
                      "A splat expression (*) cannot be used inside another attribute-only splat "
                      "expression.");
          read();
        }
        break;
      }
      token dot = read();
      token n = read();
      traverser step;
      step.rng = between(dot.rng, n.rng);
      if (n.type == tok::ident) {
        step.k = traverser::kind::attr;
        step.name = std::string(n.text);
      } else {
        step.k = traverser::kind::index;
        step.key = value::number(std::strtod(std::string(n.text).c_str(), nullptr));
      }
      each = add_step(std::move(each), std::move(step));
    }
    auto e = make(expr_kind::splat, between(from->rng, each->rng));
    e->name = id;
    e->a = std::move(from);
    e->b = std::move(each);
    return e;
  }

  std::string next_splat_id() { return "\x01splat" + std::to_string(splat_counter_++); }

  /// Appends a literal traversal step: to the traversal itself when `from` already is one.
  static expr_ptr add_step(expr_ptr from, traverser step) {
    range rng = between(from->rng, step.rng);
    if (from->kind == expr_kind::scope_traversal || from->kind == expr_kind::relative) {
      from->trav.push_back(std::move(step));
      from->rng = rng;
      return from;
    }
    auto e = make(expr_kind::relative, rng);
    e->a = std::move(from);
    e->trav.push_back(std::move(step));
    return e;
  }

  // ---- templates ------------------------------------------------------------------------------

  expr_ptr parse_template(tok end, bool flush, range open_rng) {
    depth_guard guard(*this);
    if (!guard.ok) return give_up();
    std::vector<template_part> parts;
    range end_rng = open_rng;
    newlines_.push_back(true);  // template tokens are raw; newlines only occur inside sequences
    bool ltrim_next = false, next_can_trim_prev = false;
    while (true) {
      token t = toks_[p_];
      if (t.type == end) {
        ++p_;
        end_rng = t.rng;
        break;
      }
      bool ltrim = ltrim_next;
      ltrim_next = false;
      bool can_trim_prev = next_can_trim_prev;
      next_can_trim_prev = false;
      if (t.type == tok::quoted_lit || t.type == tok::string_lit) {
        ++p_;
        template_part part;
        part.text = decode_literal(t, t.type == tok::quoted_lit);
        if (ltrim) part.text = trim_left(part.text);
        part.rng = t.rng;
        parts.push_back(std::move(part));
        next_can_trim_prev = true;
        continue;
      }
      if (t.type == tok::template_interp || t.type == tok::template_control) {
        ++p_;
        if (can_trim_prev && t.strip && !parts.empty() &&
            parts.back().k == template_part::kind::literal)
          parts.back().text = trim_right(parts.back().text);
        newlines_.push_back(false);
        bool ok = t.type == tok::template_interp ? parse_interp(t, parts, end)
                                                 : parse_directive(t, parts);
        if (ok) {
          const token& close = peek();
          if (close.type == tok::template_seq_end) {
            read();
            if (close.strip) ltrim_next = true;
            parts.back().rng = between(t.rng, close.rng);
          }
        }
        newlines_.pop_back();
        continue;
      }
      if (t.type == tok::eof || t.type == tok::cquote || t.type == tok::cheredoc) {
        if (!recovery_) {
          if (end == tok::cheredoc) {
            error(t.rng, "Unterminated template string",
                  "No closing marker was found for the string.");
          } else if (end == tok::cquote) {
            error(open_rng, "Unterminated template string",
                  "No closing marker was found for the string.");
          }
        }
        recovery_ = true;
        end_rng = t.rng;
        break;
      }
      // quoted_newline, bad_utf8, invalid: already reported; skip
      ++p_;
      if (t.type == tok::quoted_newline) {
        recovery_ = true;
        end_rng = t.rng;
        newlines_.pop_back();
        // the string cannot continue past a newline: abandon the rest of the line
        recover_line();
        return finish_template(std::move(parts), flush, between(open_rng, end_rng));
      }
    }
    newlines_.pop_back();
    return finish_template(std::move(parts), flush, between(open_rng, end_rng));
  }

  /// After `${`: the expression and the closing `}` check. False if recovery skipped the close.
  bool parse_interp(const token& open, std::vector<template_part>& parts, tok end) {
    template_part part;
    part.k = template_part::kind::interp;
    part.e = parse_expression();
    part.rng = between(open.rng, part.e->rng);
    parts.push_back(std::move(part));
    const token& close = peek();
    if (close.type == tok::template_seq_end) return true;
    if (!recovery_) {
      if (close.type == tok::eof) {
        error(open.rng, "Unclosed template interpolation sequence",
              "There is no closing brace for this interpolation sequence before the end of the "
              "file. This might be caused by incorrect nesting inside the given expression.");
      } else if (close.type == tok::colon) {
        error(close.rng, "Extra characters after interpolation expression",
              "Template interpolation doesn't expect a colon at this location. Did you intend "
              "this to be a literal sequence to be processed as part of another language? If so, "
              "you can escape it by starting with \"$${\" instead of just \"${\".");
      } else if ((close.type == tok::cquote || close.type == tok::oquote) && end == tok::cquote) {
        error(open.rng, "Unclosed template interpolation sequence",
              "There is no closing brace for this interpolation sequence before the end of the "
              "quoted template. This might be caused by incorrect nesting inside the given "
              "expression.");
      } else {
        error(close.rng, "Extra characters after interpolation expression",
              "Expected a closing brace to end the interpolation expression, but found extra "
              "characters.");
      }
    }
    recovery_ = true;
    recover_to(tok::template_seq_end);
    return false;
  }

  /// After `%{`: the directive keyword and its operands.
  bool parse_directive(const token& open, std::vector<template_part>& parts) {
    const token& kw = peek();
    auto bail = [&](range rng, std::string summary, std::string detail) {
      if (!recovery_) error(rng, std::move(summary), std::move(detail));
      recovery_ = true;
      recover_to(tok::template_seq_end);
      return false;
    };
    if (kw.type != tok::ident) {
      return bail(kw.rng, "Invalid template directive",
                  "A template directive keyword (\"if\", \"for\", etc) is expected at the "
                  "beginning of a %{ sequence.");
    }
    read();
    template_part part;
    part.rng = open.rng;
    if (kw.text == "if") {
      part.k = template_part::kind::if_;
      part.e = parse_expression();
    } else if (kw.text == "else") {
      part.k = template_part::kind::else_;
    } else if (kw.text == "endif") {
      part.k = template_part::kind::endif;
    } else if (kw.text == "endfor") {
      part.k = template_part::kind::endfor;
    } else if (kw.text == "for") {
      part.k = template_part::kind::for_;
      if (peek().type != tok::ident)
        return bail(peek().rng, "Invalid 'for' directive",
                    "For directive requires variable name after 'for'.");
      part.val_var = std::string(read().text);
      if (peek().type == tok::comma) {
        read();
        if (peek().type != tok::ident)
          return bail(peek().rng, "Invalid 'for' directive",
                      "For directive requires value variable name after comma.");
        part.key_var = part.val_var;
        part.val_var = std::string(read().text);
      }
      if (!peek_keyword("in"))
        return bail(peek().rng, "Invalid 'for' directive",
                    "For directive requires 'in' keyword after names.");
      read();
      part.e = parse_expression();
    } else {
      std::string given(kw.text);
      std::string suggestion;
      for (const char* s : {"if", "for", "else", "endif", "endfor"}) {
        if (edit_distance_small(given, s) < 3) {
          suggestion = std::string(" Did you mean \"") + s + "\"?";
          break;
        }
      }
      return bail(kw.rng, "Invalid template control keyword",
                  "\"" + given + "\" is not a valid template control keyword." + suggestion);
    }
    parts.push_back(std::move(part));
    const token& close = peek();
    if (close.type != tok::template_seq_end) {
      return bail(close.rng, "Extra characters in " + std::string(kw.text) + " marker",
                  "Expected a closing brace to end the sequence, but found extra characters.");
    }
    return true;
  }

  static std::size_t edit_distance_small(const std::string& a, const std::string& b) {
    std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
    for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
    for (std::size_t i = 1; i <= a.size(); ++i) {
      cur[0] = i;
      for (std::size_t j = 1; j <= b.size(); ++j)
        cur[j] =
            std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0u : 1u)});
      std::swap(prev, cur);
    }
    return prev[b.size()];
  }

  expr_ptr finish_template(std::vector<template_part> parts, bool flush, range rng) {
    if (flush) flush_heredoc(parts);
    // meld consecutive literals
    std::vector<template_part> melded;
    for (auto& part : parts) {
      if (!melded.empty() && part.k == template_part::kind::literal &&
          melded.back().k == template_part::kind::literal) {
        melded.back().text += part.text;
        melded.back().rng.end = part.rng.end;
      } else {
        melded.push_back(std::move(part));
      }
    }
    bool passthru = melded.size() == 1 && melded[0].k == template_part::kind::interp;
    std::size_t i = 0;
    auto e = make(expr_kind::template_, rng);
    build_template_items(melded, i, *e, rng);
    e->unwrap = passthru;
    return e;
  }

  /// hclsyntax's flush-heredoc rule: strip the smallest leading-space count of all non-blank
  /// line-leading literals from every line-leading literal.
  static void flush_heredoc(std::vector<template_part>& parts) {
    const std::size_t none = static_cast<std::size_t>(-1);
    std::size_t min_spaces = none;
    bool newline = true;
    std::vector<std::size_t> adjust;
    for (std::size_t k = 0; k < parts.size(); ++k) {
      auto& part = parts[k];
      if (newline) {
        newline = false;
        std::size_t spaces = none;
        if (part.k == template_part::kind::literal) {
          std::string trimmed = trim_left(part.text);
          bool blank_line = trimmed.empty() && !part.text.empty() && part.text.back() == '\n';
          if (!blank_line) {
            spaces = part.text.size() - trimmed.size();
            adjust.push_back(k);
          }
        } else {
          spaces = 0;
        }
        if (spaces < min_spaces) min_spaces = spaces;
      }
      if (part.k == template_part::kind::literal && !part.text.empty() && part.text.back() == '\n')
        newline = true;
    }
    if (min_spaces == none) return;
    for (std::size_t k : adjust) {
      auto& text = parts[k].text;
      text.erase(0, std::min(min_spaces, text.size()));
    }
  }

  /// Builds template items from parts[i...]; stray closers are reported like hclsyntax's
  /// template parser does.
  void build_template_items(std::vector<template_part>& parts, std::size_t& i, expr& into,
                            range whole) {
    while (true) {
      std::size_t k = collect_until(parts, i, into, {}, whole);
      if (k >= parts.size()) return;
      first_error(parts[k].rng, "Unexpected " + directive_name(parts[k].k) + " directive",
                  "The control directives within this template are unbalanced.");
      i = k + 1;
    }
  }

  static std::string directive_name(template_part::kind k) {
    switch (k) {
      case template_part::kind::else_:
        return "else";
      case template_part::kind::endif:
        return "endif";
      case template_part::kind::endfor:
        return "endfor";
      case template_part::kind::if_:
        return "if";
      case template_part::kind::for_:
        return "for";
      default:
        return "template";
    }
  }

  /// Collects items up to one of the closers; returns the index of the closer or parts.size().
  std::size_t collect_until(std::vector<template_part>& parts, std::size_t& i, expr& into,
                            std::initializer_list<template_part::kind> closers, range whole) {
    while (i < parts.size()) {
      auto k = parts[i].k;
      for (auto c : closers)
        if (k == c) return i;
      if (k == template_part::kind::else_ || k == template_part::kind::endif ||
          k == template_part::kind::endfor) {
        return i;  // an unexpected closer: the caller reports it
      }
      std::size_t before = i;
      if (k == template_part::kind::if_) {
        into.items.push_back(build_if(parts, i, whole));
      } else if (k == template_part::kind::for_) {
        into.items.push_back(build_for(parts, i, whole));
      } else if (k == template_part::kind::literal) {
        into.items.push_back(make_literal(value::string(std::move(parts[i].text)), parts[i].rng));
        ++i;
      } else {
        into.items.push_back(std::move(parts[i].e));
        ++i;
      }
      if (i == before) ++i;
    }
    return i;
  }

  expr_ptr build_if(std::vector<template_part>& parts, std::size_t& i, range whole) {
    template_part& open = parts[i++];
    auto e = make(expr_kind::template_if, open.rng);
    e->a = std::move(open.e);
    e->b = make(expr_kind::template_, open.rng);
    std::size_t k = collect_until(parts, i, *e->b,
                                  {template_part::kind::else_, template_part::kind::endif}, whole);
    if (k < parts.size() && parts[k].k == template_part::kind::else_) {
      ++i;
      e->c = make(expr_kind::template_, parts[k].rng);
      k = collect_until(parts, i, *e->c, {template_part::kind::endif}, whole);
      if (k < parts.size() && parts[k].k == template_part::kind::else_) {
        first_error(parts[k].rng, "Unexpected else directive",
                    "Already in the else clause for the if started at " + at(open.rng) + ".");
      }
    }
    if (k >= parts.size()) {
      first_error(
          whole, "Unexpected end of template",
          "The if directive at " + at(open.rng) + " is missing its corresponding endif directive.");
      return e;
    }
    if (parts[k].k != template_part::kind::endif) {
      first_error(parts[k].rng, "Unexpected " + directive_name(parts[k].k) + " directive",
                  "Expecting an endif directive for the if started at " + at(open.rng) + ".");
    }
    e->rng = between(open.rng, parts[k].rng);
    ++i;
    return e;
  }

  expr_ptr build_for(std::vector<template_part>& parts, std::size_t& i, range whole) {
    template_part& open = parts[i++];
    auto e = make(expr_kind::template_for, open.rng);
    e->a = std::move(open.e);
    e->key_var = open.key_var;
    e->val_var = open.val_var;
    e->b = make(expr_kind::template_, open.rng);
    std::size_t k = collect_until(parts, i, *e->b, {template_part::kind::endfor}, whole);
    if (k >= parts.size()) {
      first_error(whole, "Unexpected end of template",
                  "The for directive at " + at(open.rng) +
                      " is missing its corresponding endfor directive.");
      return e;
    }
    if (parts[k].k != template_part::kind::endfor) {
      first_error(parts[k].rng, "Unexpected " + directive_name(parts[k].k) + " directive",
                  "Expecting an endfor directive corresponding to the for directive at " +
                      at(open.rng) + ".");
    }
    e->rng = between(open.rng, parts[k].rng);
    ++i;
    return e;
  }

  static std::string at(const range& r) {
    return std::to_string(r.start.line) + "," + std::to_string(r.start.column);
  }

  std::vector<token> toks_;
  std::size_t p_ = 0;
  diagnostics& diags_;
  parse_limits limits_;
  std::vector<bool> newlines_{false};
  bool recovery_ = false;
  bool reported_invalid_ = false;
  bool too_deep_ = false;
  int depth_ = 0;
  int splat_counter_ = 0;
};

bool check_size(std::string_view source, const parse_limits& limits, diagnostics& diags) {
  if (source.size() <= limits.max_bytes) return true;
  diags.add({}, "File too large",
            "The file is " + std::to_string(source.size()) + " bytes; the limit is " +
                std::to_string(limits.max_bytes) + " bytes.");
  return false;
}

}  // namespace

file parse_file(std::string name, std::string source, diagnostics& diags,
                const parse_limits& limits) {
  file f;
  f.name = std::move(name);
  f.source = std::move(source);
  if (!check_size(f.source, limits, diags)) return f;
  parser p(tokenize(f.source, diags), diags, limits);
  f.root = p.parse_root_body();
  return f;
}

expr_ptr parse_expression(std::string_view source, diagnostics& diags, const parse_limits& limits) {
  if (!check_size(source, limits, diags)) return make_literal(value{}, {});
  parser p(tokenize(source, diags), diags, limits);
  return p.parse_root_expression();
}

expr_ptr parse_template(std::string_view source, diagnostics& diags, const parse_limits& limits) {
  if (!check_size(source, limits, diags)) return make_literal(value{}, {});
  parser p(tokenize_template(source, diags), diags, limits);
  return p.parse_root_template();
}

}  // namespace pikoci::hcl
