#include "config/pipeline/condition.hpp"

#include <cctype>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <utility>
#include <vector>

namespace pikoci::pipeline {

namespace {

enum class token_kind {
  value,
  equal,
  not_equal,
  greater,
  less,
  contains,
  not_contains,
  logical_and,
  logical_or,
  open_paren,
  close_paren,
};

struct token {
  token_kind kind;
  std::string text;  // as written; for quoted values, without the quotes
  bool quoted = false;
  std::size_t column = 0;  // 1-based
};

bool is_comparison(token_kind k) {
  return k == token_kind::equal || k == token_kind::not_equal || k == token_kind::greater ||
         k == token_kind::less || k == token_kind::contains || k == token_kind::not_contains;
}

bool is_space(char c) {
  return std::isspace(static_cast<unsigned char>(c)) != 0;
}

bool starts_with(std::string_view s, std::size_t i, std::string_view prefix) {
  return s.substr(i, prefix.size()) == prefix;
}

// Where a bare word ends: operators may follow a word without whitespace ("a==b").
bool ends_word(std::string_view s, std::size_t i) {
  const char c = s[i];
  return is_space(c) || c == '(' || c == ')' || c == '\'' || c == '<' || c == '>' ||
         starts_with(s, i, "==") || starts_with(s, i, "!=") || starts_with(s, i, "&&") ||
         starts_with(s, i, "||");
}

std::string at_column(std::size_t column) {
  return " at column " + std::to_string(column);
}

std::string describe(const token& t) {
  if (t.kind == token_kind::value) return t.quoted ? "'" + t.text + "'" : "\"" + t.text + "\"";
  return "'" + t.text + "'";
}

std::optional<std::vector<token>> tokenize(std::string_view s, std::string& error) {
  struct symbol {
    std::string_view text;
    token_kind kind;
  };
  constexpr symbol symbols[] = {
      {"==", token_kind::equal},       {"!=", token_kind::not_equal},
      {"&&", token_kind::logical_and}, {"||", token_kind::logical_or},
      {"(", token_kind::open_paren},   {")", token_kind::close_paren},
      {">", token_kind::greater},      {"<", token_kind::less},
  };

  std::vector<token> tokens;
  std::size_t i = 0;
  while (i < s.size()) {
    if (is_space(s[i])) {
      ++i;
      continue;
    }
    const std::size_t column = i + 1;
    bool matched = false;
    for (const auto& sym : symbols) {
      if (!starts_with(s, i, sym.text)) continue;
      if ((sym.kind == token_kind::greater || sym.kind == token_kind::less) &&
          starts_with(s, i + 1, "=")) {
        error = "unsupported operator '" + std::string(s.substr(i, 2)) + "'" + at_column(column) +
                " (operators: == != > < contains !contains && ||)";
        return std::nullopt;
      }
      tokens.push_back({sym.kind, std::string(sym.text), false, column});
      i += sym.text.size();
      matched = true;
      break;
    }
    if (matched) continue;

    if (s[i] == '\'') {
      const std::size_t close = s.find('\'', i + 1);
      if (close == std::string_view::npos) {
        error = "unterminated quoted string starting" + at_column(column);
        return std::nullopt;
      }
      tokens.push_back(
          {token_kind::value, std::string(s.substr(i + 1, close - i - 1)), true, column});
      i = close + 1;
      continue;
    }

    if (s[i] == '&' || s[i] == '|' || s[i] == '=') {
      const std::string single(1, s[i]);
      error = "unexpected '" + single + "'" + at_column(column) + " (did you mean '" + single +
              single + "'?)";
      return std::nullopt;
    }

    std::size_t end = i + 1;
    while (end < s.size() && !ends_word(s, end)) ++end;
    std::string word(s.substr(i, end - i));
    if (word == "contains") {
      tokens.push_back({token_kind::contains, word, false, column});
    } else if (word == "!contains") {
      tokens.push_back({token_kind::not_contains, word, false, column});
    } else if (word[0] == '!') {
      error = "negation with a leading '!' is not supported" + at_column(column) +
              " (use != or !contains)";
      return std::nullopt;
    } else {
      tokens.push_back({token_kind::value, word, false, column});
    }
    i = end;
  }
  return tokens;
}

// Like a shell: $NAME (letters, digits, '_') or ${NAME}; a '$' that starts neither, or an
// unclosed "${", stays literal.
std::string expand(std::string_view s, const condition::lookup_fn& lookup) {
  auto value_of = [&lookup](std::string_view name) {
    if (!lookup) return std::string();
    return lookup(std::string(name)).value_or("");
  };
  auto is_name_char = [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  };

  std::string out;
  std::size_t i = 0;
  while (i < s.size()) {
    if (s[i] != '$' || i + 1 == s.size()) {
      out += s[i++];
      continue;
    }
    if (s[i + 1] == '{') {
      const std::size_t close = s.find('}', i + 2);
      if (close == std::string_view::npos) {
        out += s.substr(i);
        break;
      }
      out += value_of(s.substr(i + 2, close - i - 2));
      i = close + 1;
      continue;
    }
    std::size_t end = i + 1;
    while (end < s.size() && is_name_char(s[end])) ++end;
    if (end == i + 1) {
      out += s[i++];
      continue;
    }
    out += value_of(s.substr(i + 1, end - i - 1));
    i = end;
  }
  return out;
}

// Go's strconv.ParseFloat accepts decimal forms, exponents, inf and nan, and fails on overflow;
// strtod also takes leading spaces and bare hex, which Go rejects.
std::optional<double> parse_number(const std::string& s) {
  if (s.empty() || is_space(s[0]) || s.find_first_of("xX") != std::string::npos) {
    return std::nullopt;
  }
  char* end = nullptr;
  errno = 0;
  const double value = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return std::nullopt;
  if (errno == ERANGE && std::isinf(value)) return std::nullopt;
  return value;
}

bool truthy(const std::string& value) {
  if (value.empty() || value == "0") return false;
  constexpr std::string_view falsy = "false";
  if (value.size() != falsy.size()) return true;
  for (std::size_t i = 0; i < value.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(value[i])) != falsy[i]) return true;
  }
  return false;
}

}  // namespace

struct condition::node {
  enum class kind { any_of, all_of, compare, truthy };
  struct operand {
    std::string text;
    bool quoted = false;  // single-quoted text is literal: no $VAR expansion
  };

  kind type = kind::truthy;
  token_kind op = token_kind::value;
  std::vector<std::shared_ptr<const node>> children;
  operand left, right;

  std::string resolve(const operand& o, const lookup_fn& lookup) const {
    return o.quoted ? o.text : expand(o.text, lookup);
  }

  bool evaluate(const lookup_fn& lookup) const {
    switch (type) {
      case kind::any_of:
        for (const auto& child : children) {
          if (child->evaluate(lookup)) return true;
        }
        return false;
      case kind::all_of:
        for (const auto& child : children) {
          if (!child->evaluate(lookup)) return false;
        }
        return true;
      case kind::truthy:
        return pipeline::truthy(resolve(left, lookup));
      case kind::compare:
        break;
    }
    const std::string a = resolve(left, lookup), b = resolve(right, lookup);
    switch (op) {
      case token_kind::equal:
        return a == b;
      case token_kind::not_equal:
        return a != b;
      case token_kind::contains:
        return a.find(b) != std::string::npos;
      case token_kind::not_contains:
        return a.find(b) == std::string::npos;
      case token_kind::greater:
      case token_kind::less: {
        const auto x = parse_number(a), y = parse_number(b);
        const bool greater = op == token_kind::greater;
        if (x && y) return greater ? *x > *y : *x < *y;
        return greater ? a > b : a < b;
      }
      default:
        return false;
    }
  }
};

namespace {

using node_ptr = std::shared_ptr<const condition::node>;
using node = condition::node;

constexpr int max_paren_depth = 64;

// Recursive descent over: or := and ('||' and)*; and := primary ('&&' primary)*;
// primary := '(' or ')' | value [comparison value].
class parser {
 public:
  parser(std::vector<token> tokens, std::string& error)
      : tokens_(std::move(tokens)), error_(error) {}

  node_ptr parse() {
    node_ptr root = parse_or();
    if (!root) return nullptr;
    if (pos_ < tokens_.size()) {
      const token& t = tokens_[pos_];
      if (t.kind == token_kind::close_paren) {
        return fail("unbalanced parentheses: unexpected ')'" + at_column(t.column));
      }
      return fail("unexpected " + describe(t) + at_column(t.column) + ": expected an operator");
    }
    return root;
  }

 private:
  const token* peek() const { return pos_ < tokens_.size() ? &tokens_[pos_] : nullptr; }

  node_ptr fail(std::string message) {
    if (error_.empty()) error_ = std::move(message);
    return nullptr;
  }

  // Both logical levels share this: `next` parses the tighter-binding operand.
  node_ptr parse_chain(token_kind op, node::kind type, node_ptr (parser::*next)()) {
    node_ptr first = (this->*next)();
    if (!first) return nullptr;
    if (!peek() || peek()->kind != op) return first;
    auto chain = std::make_shared<node>();
    chain->type = type;
    chain->children.push_back(first);
    while (peek() && peek()->kind == op) {
      const token& t = tokens_[pos_++];
      if (!peek()) return fail("'" + t.text + "'" + at_column(t.column) + " has no right operand");
      node_ptr operand = (this->*next)();
      if (!operand) return nullptr;
      chain->children.push_back(operand);
    }
    return chain;
  }

  node_ptr parse_or() {
    return parse_chain(token_kind::logical_or, node::kind::any_of, &parser::parse_and);
  }
  node_ptr parse_and() {
    return parse_chain(token_kind::logical_and, node::kind::all_of, &parser::parse_primary);
  }

  node_ptr parse_primary() {
    const token* t = peek();
    if (!t) return fail("missing operand at end of condition");
    if (t->kind == token_kind::open_paren) {
      ++pos_;
      if (peek() && peek()->kind == token_kind::close_paren) {
        return fail("empty parentheses" + at_column(t->column));
      }
      // Each level recurses here (and in evaluation): hostile nesting must not use up the stack.
      if (depth_ >= max_paren_depth) {
        return fail("parentheses nested deeper than " + std::to_string(max_paren_depth) +
                    at_column(t->column));
      }
      ++depth_;
      node_ptr inner = parse_or();
      --depth_;
      if (!inner) return nullptr;
      const token* close = peek();
      if (!close) {
        return fail("unbalanced parentheses: '('" + at_column(t->column) + " is never closed");
      }
      if (close->kind != token_kind::close_paren) {
        return fail("unexpected " + describe(*close) + at_column(close->column) +
                    ": expected an operator or ')'");
      }
      ++pos_;
      return inner;
    }
    if (t->kind == token_kind::close_paren) {
      return fail("unbalanced parentheses: unexpected ')'" + at_column(t->column));
    }
    if (t->kind != token_kind::value) {
      return fail("'" + t->text + "'" + at_column(t->column) + " has no left operand");
    }

    auto leaf = std::make_shared<node>();
    leaf->left = {t->text, t->quoted};
    ++pos_;
    const token* op = peek();
    if (!op || !is_comparison(op->kind)) return leaf;
    ++pos_;
    const token* rhs = peek();
    if (!rhs || rhs->kind != token_kind::value) {
      return fail("'" + op->text + "'" + at_column(op->column) + " has no right operand");
    }
    ++pos_;
    leaf->type = node::kind::compare;
    leaf->op = op->kind;
    leaf->right = {rhs->text, rhs->quoted};
    return leaf;
  }

  std::vector<token> tokens_;
  std::size_t pos_ = 0;
  int depth_ = 0;
  std::string& error_;
};

}  // namespace

std::optional<condition> condition::parse(std::string_view text, std::string& error) {
  condition out;
  out.text_ = std::string(text);
  auto tokens = tokenize(text, error);
  if (!tokens) return std::nullopt;
  if (tokens->empty()) return out;  // an empty condition is true

  std::string parse_error;
  parser p(std::move(*tokens), parse_error);
  out.root_ = p.parse();
  if (!out.root_) {
    error = parse_error;
    return std::nullopt;
  }
  return out;
}

bool condition::evaluate(const lookup_fn& lookup) const {
  return !root_ || root_->evaluate(lookup);
}

}  // namespace pikoci::pipeline
