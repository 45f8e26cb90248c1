#include "config/pipeline/lexer.hpp"

#include <cstdint>
#include <optional>

#include "config/pipeline/utf8.hpp"

namespace pikoci::hcl {
namespace {

bool is_digit(char c) {
  return c >= '0' && c <= '9';
}
bool is_ascii_letter(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool is_ident_start(std::string_view s, std::size_t i) {
  char c = s[i];
  if (is_ascii_letter(c) || c == '_') return true;
  return static_cast<unsigned char>(c) >= 0x80 && utf8_sequence_length(s, i) > 0;
}

bool is_ident_continue(std::string_view s, std::size_t i) {
  char c = s[i];
  return is_ident_start(s, i) || is_digit(c) || c == '-';
}

class lexer {
 public:
  lexer(std::string_view src, diagnostics& diags) : src_(src), diags_(diags) {
    if (src_.substr(0, 3) == "\xEF\xBB\xBF") advance(3);  // byte order mark
  }

  std::vector<token> run(bool as_template) {
    modes_.push_back(frame{as_template ? mode::bare : mode::normal});
    while (i_ < src_.size()) {
      switch (modes_.back().m) {
        case mode::normal:
          scan_normal();
          break;
        case mode::quoted:
          scan_quoted();
          break;
        case mode::heredoc:
          scan_heredoc();
          break;
        case mode::bare:
          scan_bare();
          break;
      }
    }
    token eof;
    eof.type = tok::eof;
    eof.rng = {cur_, cur_};
    eof.text = src_.substr(src_.size());
    out_.push_back(eof);
    return std::move(out_);
  }

 private:
  enum class mode { normal, quoted, heredoc, bare };
  struct frame {
    mode m;
    std::string_view marker = {};  // heredoc
    bool start_of_line = true;     // heredoc
  };

  char at(std::size_t k) const { return k < src_.size() ? src_[k] : '\0'; }
  bool starts(std::string_view s) const { return src_.compare(i_, s.size(), s) == 0; }

  void advance(std::size_t n) {
    for (std::size_t k = 0; k < n && i_ < src_.size(); ++k, ++i_) {
      auto c = static_cast<unsigned char>(src_[i_]);
      if (c == '\n') {
        ++cur_.line;
        cur_.column = 1;
      } else if ((c & 0xC0) != 0x80) {
        ++cur_.column;
      }
    }
    cur_.byte = i_;
  }

  token& emit(tok type, std::size_t len) {
    token t;
    t.type = type;
    t.rng.start = cur_;
    t.text = src_.substr(i_, len);
    advance(len);
    t.rng.end = cur_;
    out_.push_back(t);
    return out_.back();
  }

  /// `${` / `%{` (with an optional `~`) entering an expression sequence.
  bool scan_sequence_start() {
    if ((at(i_) != '$' && at(i_) != '%') || at(i_ + 1) != '{') return false;
    bool strip = at(i_ + 2) == '~';
    if (modes_.back().m == mode::heredoc) modes_.back().start_of_line = false;
    auto& t = emit(at(i_) == '$' ? tok::template_interp : tok::template_control, strip ? 3 : 2);
    t.strip = strip;
    ++braces_;
    return_braces_.push_back(braces_);
    modes_.push_back(frame{mode::normal});
    return true;
  }

  /// Length of template literal text from i_ up to the next sequence start, stop character or
  /// newline. `$${` and `%%{` are literal (the parser unescapes them).
  std::size_t literal_length(bool quoted) const {
    std::size_t k = i_;
    while (k < src_.size()) {
      char c = src_[k];
      if (c == '\n' || c == '\r') break;
      if (quoted && c == '"') break;
      if ((c == '$' || c == '%') && at(k + 1) == '{') break;
      if ((c == '$' || c == '%') && at(k + 1) == c && at(k + 2) == '{') {
        k += 3;
        continue;
      }
      if (quoted && c == '\\' && k + 1 < src_.size() && src_[k + 1] != '\n' &&
          src_[k + 1] != '\r') {
        std::size_t n = utf8_sequence_length(src_, k + 1);
        if (n == 0) break;
        k += 1 + n;
        continue;
      }
      std::size_t n = utf8_sequence_length(src_, k);
      if (n == 0) break;
      k += n;
    }
    return k - i_;
  }

  bool scan_bad_utf8() {
    if (utf8_sequence_length(src_, i_) != 0) return false;
    std::size_t k = i_ + 1;
    while (k < src_.size() && utf8_sequence_length(src_, k) == 0) ++k;
    emit(tok::bad_utf8, k - i_);
    return true;
  }

  void scan_quoted() {
    if (scan_sequence_start()) return;
    char c = at(i_);
    if (c == '"') {
      emit(tok::cquote, 1);
      modes_.pop_back();
      return;
    }
    if (c == '\n' || c == '\r') {
      std::size_t k = i_;
      while (k < src_.size() && (src_[k] == '\n' || src_[k] == '\r')) ++k;
      emit(tok::quoted_newline, k - i_);
      return;
    }
    if (std::size_t n = literal_length(true)) {
      emit(tok::quoted_lit, n);
      return;
    }
    if (scan_bad_utf8()) return;
    emit(tok::invalid, utf8_sequence_length(src_, i_));  // a lone backslash before a newline
  }

  void scan_heredoc() {
    auto& f = modes_.back();
    if (f.start_of_line) {
      // A line holding only the marker (surrounding spaces allowed) closes the heredoc.
      std::size_t eol = src_.find('\n', i_);
      if (eol != std::string_view::npos) {
        std::string_view line = src_.substr(i_, eol - i_);
        std::size_t b = line.find_first_not_of(" \t\r\v\f");
        std::size_t e = line.find_last_not_of(" \t\r\v\f");
        if (b != std::string_view::npos && line.substr(b, e - b + 1) == f.marker) {
          advance(b);
          emit(tok::cheredoc, f.marker.size());
          advance(eol - i_);
          emit(tok::newline, 1);
          modes_.pop_back();
          return;
        }
      }
    }
    if (scan_sequence_start()) return;
    std::size_t n = literal_length(false);
    if (at(i_ + n) == '\r' && at(i_ + n + 1) == '\n') {
      n += 2;
    } else if (at(i_ + n) == '\n' || at(i_ + n) == '\r') {
      n += 1;
    }
    if (n > 0) {
      bool eol = src_[i_ + n - 1] == '\n' || src_[i_ + n - 1] == '\r';
      emit(tok::string_lit, n);
      modes_.back().start_of_line = eol;
      return;
    }
    scan_bad_utf8();
  }

  void scan_bare() {
    if (scan_sequence_start()) return;
    // In a bare template newlines are ordinary text: take everything up to the next sequence.
    std::size_t k = i_;
    while (k < src_.size()) {
      char c = src_[k];
      if ((c == '$' || c == '%') && at(k + 1) == '{') break;
      if ((c == '$' || c == '%') && at(k + 1) == c && at(k + 2) == '{') {
        k += 3;
        continue;
      }
      std::size_t n = utf8_sequence_length(src_, k);
      if (n == 0) break;
      k += n;
    }
    if (k > i_) {
      emit(tok::string_lit, k - i_);
      return;
    }
    scan_bad_utf8();
  }

  void scan_normal() {
    char c = at(i_);
    switch (c) {
      case ' ':
      case '\t':
        advance(1);
        return;
      case '\n':
        emit(tok::newline, 1);
        return;
      case '\r':
        if (at(i_ + 1) == '\n') {
          emit(tok::newline, 2);
        } else {
          emit(tok::invalid, 1);
        }
        return;
      case '#':
        skip_line_comment(1);
        return;
      case '/':
        if (at(i_ + 1) == '/') {
          skip_line_comment(2);
          return;
        }
        if (at(i_ + 1) == '*') {
          skip_block_comment();
          return;
        }
        emit(tok::slash, 1);
        return;
      case '{':
        emit(tok::lbrace, 1);
        ++braces_;
        return;
      case '}':
        close_brace(1, false);
        return;
      case '~':
        if (at(i_ + 1) == '}') {
          close_brace(2, true);
        } else {
          emit(tok::invalid, 1);
        }
        return;
      case '"':
        emit(tok::oquote, 1);
        modes_.push_back(frame{mode::quoted});
        return;
      default:
        break;
    }
    if (scan_operator(c)) return;
    if (is_digit(c)) {
      scan_number();
      return;
    }
    if (is_ident_start(src_, i_)) {
      std::size_t k = i_;
      while (k < src_.size() && is_ident_continue(src_, k)) k += utf8_sequence_length(src_, k);
      emit(tok::ident, k - i_);
      return;
    }
    if (scan_bad_utf8()) return;
    emit(tok::invalid, utf8_sequence_length(src_, i_));
  }

  // Operators and punctuation at `c`; false when none starts there.
  bool scan_operator(char c) {
    switch (c) {
      case '<':
        if (at(i_ + 1) == '<' && scan_heredoc_start()) return true;
        if (at(i_ + 1) == '=') {
          emit(tok::le, 2);
        } else {
          emit(tok::lt, 1);
        }
        return true;
      case '>':
        emit(at(i_ + 1) == '=' ? tok::ge : tok::gt, at(i_ + 1) == '=' ? 2 : 1);
        return true;
      case '=':
        if (at(i_ + 1) == '=') {
          emit(tok::eq, 2);
        } else if (at(i_ + 1) == '>') {
          emit(tok::fat_arrow, 2);
        } else {
          emit(tok::assign, 1);
        }
        return true;
      case '!':
        emit(at(i_ + 1) == '=' ? tok::neq : tok::bang, at(i_ + 1) == '=' ? 2 : 1);
        return true;
      case '&':
        emit(at(i_ + 1) == '&' ? tok::and_ : tok::invalid, at(i_ + 1) == '&' ? 2 : 1);
        return true;
      case '|':
        emit(at(i_ + 1) == '|' ? tok::or_ : tok::invalid, at(i_ + 1) == '|' ? 2 : 1);
        return true;
      case '.':
        if (at(i_ + 1) == '.' && at(i_ + 2) == '.') {
          emit(tok::ellipsis, 3);
        } else {
          emit(tok::dot, 1);
        }
        return true;
      default:
        break;
    }
    auto t = punctuation(c);
    if (t) emit(*t, 1);
    return t.has_value();
  }

  // The one-character punctuation tokens.
  static std::optional<tok> punctuation(char c) {
    switch (c) {
      case '[':
        return tok::lbrack;
      case ']':
        return tok::rbrack;
      case '(':
        return tok::lparen;
      case ')':
        return tok::rparen;
      case ',':
        return tok::comma;
      case ':':
        return tok::colon;
      case '?':
        return tok::question;
      case '+':
        return tok::plus;
      case '-':
        return tok::minus;
      case '*':
        return tok::star;
      case '%':
        return tok::percent;
      default:
        return std::nullopt;
    }
  }

  void close_brace(std::size_t len, bool strip) {
    bool closes_sequence = !return_braces_.empty() && return_braces_.back() == braces_;
    auto& t = emit(closes_sequence || strip ? tok::template_seq_end : tok::rbrace, len);
    t.strip = strip;
    --braces_;
    if (closes_sequence) {
      return_braces_.pop_back();
      modes_.pop_back();
    }
  }

  void scan_number() {
    // digit (digit | '.' | [eE][+-]?digit)*, never ending in '.'
    std::size_t k = i_ + 1;
    while (k < src_.size()) {
      char c = src_[k];
      if (is_digit(c) || c == '.') {
        ++k;
      } else if ((c == 'e' || c == 'E') &&
                 (is_digit(at(k + 1)) ||
                  ((at(k + 1) == '+' || at(k + 1) == '-') && is_digit(at(k + 2))))) {
        k += is_digit(at(k + 1)) ? 2 : 3;
      } else {
        break;
      }
    }
    while (src_[k - 1] == '.') --k;
    emit(tok::number, k - i_);
  }

  bool scan_heredoc_start() {
    // `<<` `-`? ident newline
    std::size_t k = i_ + 2;
    bool flush = at(k) == '-';
    if (flush) ++k;
    if (k >= src_.size() || !is_ident_start(src_, k)) return false;
    std::size_t name_start = k;
    while (k < src_.size() && is_ident_continue(src_, k)) k += utf8_sequence_length(src_, k);
    std::size_t name_end = k;
    if (at(k) == '\r') ++k;
    if (at(k) != '\n') return false;
    ++k;
    auto& t = emit(tok::oheredoc, k - i_);
    t.flush = flush;
    modes_.push_back(frame{mode::heredoc, src_.substr(name_start, name_end - name_start), true});
    return true;
  }

  void skip_line_comment(std::size_t prefix) {
    std::size_t k = i_ + prefix;
    while (k < src_.size() && src_[k] != '\n') ++k;
    if (k < src_.size()) {
      bool crlf = k > i_ && src_[k - 1] == '\r';
      advance(k - i_ - (crlf ? 1 : 0));
      emit(tok::newline, crlf ? 2 : 1);
    } else {
      advance(k - i_);
    }
  }

  void skip_block_comment() {
    std::size_t end = src_.find("*/", i_ + 2);
    if (end == std::string_view::npos) {
      // Like hclsyntax: an unclosed `/*` is no comment, just the tokens `/` and `*`, which the
      // parser then rejects where they stand.
      emit(tok::slash, 1);
      return;
    }
    advance(end + 2 - i_);
  }

  std::string_view src_;
  diagnostics& diags_;
  std::size_t i_ = 0;
  pos cur_;
  std::vector<token> out_;
  std::vector<frame> modes_;
  int braces_ = 0;
  std::vector<int> return_braces_;
};

}  // namespace

std::vector<token> tokenize(std::string_view src, diagnostics& diags) {
  return lexer(src, diags).run(false);
}

std::vector<token> tokenize_template(std::string_view src, diagnostics& diags) {
  return lexer(src, diags).run(true);
}

}  // namespace pikoci::hcl
