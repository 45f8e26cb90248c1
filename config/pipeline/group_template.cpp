#include "config/pipeline/group_template.hpp"

#include <cctype>
#include <optional>

#include "config/pipeline/utf8.hpp"

namespace pikoci::pipeline {

/// An argument: a field chain (`.A.B`, `.` alone is the data) or a literal.
struct arg {
  enum class kind { field, string, integer } k = kind::field;
  std::vector<std::string> path;  // field
  std::string text;               // string literal
  long long number = 0;           // integer literal
};

/// A value expression: one argument, or `index <arg> <arg>...`.
struct expr {
  bool index = false;
  std::vector<arg> args;
};

struct group_template::node {
  enum class kind { text, value, cond } k = kind::text;
  std::string text;
  expr value;
  // cond: the branches in order; an `else` has no condition
  struct branch {
    std::optional<expr> cond;
    std::vector<node> body;
  };
  std::vector<branch> branches;
};

namespace {

using node = group_template::node;

/// One `{{ ... }}` action split into words, with its line for messages.
struct action {
  std::vector<std::string> words;
  int line = 1;
};

struct parser {
  std::string_view src;
  std::size_t pos = 0;
  int line = 1;
  std::string error;

  bool fail(const std::string& what, int at) {
    if (error.empty()) error = "template: group:" + std::to_string(at) + ": " + what;
    return false;
  }

  /// Splits an action's inside into words: strings keep their quotes.
  bool words_of(std::string_view in, int at, std::vector<std::string>& out) {
    std::size_t i = 0;
    while (i < in.size()) {
      char c = in[i];
      if (std::isspace(static_cast<unsigned char>(c))) {
        ++i;
        continue;
      }
      if (c == '"') {
        std::string w = "\"";
        ++i;
        bool closed = false;
        while (i < in.size()) {
          char d = in[i++];
          if (d == '\\' && i < in.size()) {
            char e = in[i++];
            w += e == 'n' ? '\n' : e == 't' ? '\t' : e;
            continue;
          }
          if (d == '"') {
            closed = true;
            break;
          }
          w += d;
        }
        if (!closed) return fail("unterminated quoted string", at);
        out.push_back(w);
        continue;
      }
      std::size_t start = i;
      while (i < in.size() && !std::isspace(static_cast<unsigned char>(in[i])) && in[i] != '"') ++i;
      out.emplace_back(in.substr(start, i - start));
    }
    return true;
  }

  bool parse_arg(const std::string& w, int at, arg& a) {
    if (w.size() >= 1 && w[0] == '"') {
      a.k = arg::kind::string;
      a.text = w.substr(1);
      return true;
    }
    if (!w.empty() && (std::isdigit(static_cast<unsigned char>(w[0])) || w[0] == '-')) {
      a.k = arg::kind::integer;
      std::size_t used = 0;
      try {
        a.number = std::stoll(w, &used);
      } catch (const std::exception&) {
        used = 0;
      }
      if (used != w.size()) return fail("bad number syntax: " + w, at);
      return true;
    }
    if (w.empty() || w[0] != '.') return fail("function \"" + w + "\" not defined", at);
    a.k = arg::kind::field;
    if (w == ".") return true;
    std::size_t start = 1;
    while (start <= w.size()) {
      auto dot = w.find('.', start);
      auto name = w.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
      if (name.empty()) return fail("bad field syntax: " + w, at);
      for (char c : name)
        if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_')
          return fail("bad character in field name: " + w, at);
      a.path.push_back(name);
      if (dot == std::string::npos) break;
      start = dot + 1;
    }
    return true;
  }

  bool parse_expr(const std::vector<std::string>& words, std::size_t from, int at, expr& e) {
    if (from >= words.size()) return fail("missing value", at);
    const auto& head = words[from];
    bool operand = !head.empty() && (head[0] == '.' || head[0] == '"' || head[0] == '-' ||
                                     std::isdigit(static_cast<unsigned char>(head[0])));
    if (head != "index" && !operand) return fail("function \"" + head + "\" not defined", at);
    if (head == "index") {
      e.index = true;
      if (words.size() - from < 3) return fail("index needs a collection and a key", at);
      ++from;
    } else if (words.size() - from != 1) {
      return fail("unexpected \"" + words[from + 1] + "\" in operand", at);
    }
    for (std::size_t i = from; i < words.size(); ++i) {
      arg a;
      if (!parse_arg(words[i], at, a)) return false;
      e.args.push_back(std::move(a));
    }
    return true;
  }

  /// The next piece: text up to an action, or the action. Handles `{{-` / `-}}` trimming.
  bool next(std::string& text, std::optional<action>& act) {
    act.reset();
    auto open = src.find("{{", pos);
    text = std::string(
        src.substr(pos, open == std::string_view::npos ? std::string_view::npos : open - pos));
    for (char c : text) line += c == '\n';
    if (open == std::string_view::npos) {
      pos = src.size();
      return true;
    }
    std::size_t inner = open + 2;
    if (inner + 1 < src.size() && src[inner] == '-' && src[inner + 1] == ' ') {
      while (!text.empty() && std::isspace(static_cast<unsigned char>(text.back())))
        text.pop_back();
      inner += 2;
    }
    auto close = src.find("}}", inner);
    if (close == std::string_view::npos) return fail("unclosed action", line);
    std::size_t end = close;
    bool trim_after = false;
    if (end >= inner + 2 && src[end - 1] == '-' && src[end - 2] == ' ') {
      trim_after = true;
      end -= 2;
    }
    action a;
    a.line = line;
    auto inside = src.substr(inner, end - inner);
    for (char c : inside) line += c == '\n';
    if (!words_of(inside, a.line, a.words)) return false;
    if (a.words.empty()) return fail("missing value for command", a.line);
    pos = close + 2;
    if (trim_after)
      while (pos < src.size() && std::isspace(static_cast<unsigned char>(src[pos]))) {
        line += src[pos] == '\n';
        ++pos;
      }
    act = std::move(a);
    return true;
  }

  /// Parses nodes until the end or a control word (`else`, `end`) that the caller handles.
  bool parse_list(std::vector<node>& out, std::optional<action>& stop, int depth) {
    if (depth > 64) return fail("if nested too deeply", line);
    for (;;) {
      std::string text;
      std::optional<action> act;
      if (!next(text, act)) return false;
      if (!text.empty()) {
        node n;
        n.text = std::move(text);
        out.push_back(std::move(n));
      }
      if (!act) return true;
      const auto& w = act->words;
      if (w[0] == "else" || w[0] == "end") {
        stop = std::move(act);
        return true;
      }
      if (w[0] == "if") {
        node n;
        n.k = node::kind::cond;
        if (!parse_if(*act, n, depth)) return false;
        out.push_back(std::move(n));
        continue;
      }
      node n;
      n.k = node::kind::value;
      if (!parse_expr(w, 0, act->line, n.value)) return false;
      out.push_back(std::move(n));
    }
  }

  bool parse_if(const action& head, node& n, int depth) {
    expr cond;
    if (!parse_expr(head.words, 1, head.line, cond)) return false;
    n.branches.push_back({std::move(cond), {}});
    for (;;) {
      std::optional<action> stop;
      if (!parse_list(n.branches.back().body, stop, depth + 1)) return false;
      if (!stop) return fail("unexpected EOF: missing {{end}} for {{if}}", head.line);
      const auto& w = stop->words;
      if (w[0] == "end") {
        if (w.size() != 1) return fail("unexpected \"" + w[1] + "\" in end", stop->line);
        return true;
      }
      // else / else if
      if (!n.branches.back().cond) return fail("expected end; found {{else}}", stop->line);
      if (w.size() == 1) {
        n.branches.push_back({std::nullopt, {}});
        continue;
      }
      if (w[1] != "if") return fail("unexpected \"" + w[1] + "\" in else", stop->line);
      expr c;
      if (!parse_expr(w, 2, stop->line, c)) return false;
      n.branches.push_back({std::move(c), {}});
    }
  }
};

/// A missing value (absent field, index out of range): renders empty, is false.
const nlohmann::json& missing() {
  static const nlohmann::json m;
  return m;
}

struct evaluator {
  const nlohmann::json& data;
  std::string error;

  nlohmann::json value_of(const arg& a) {
    switch (a.k) {
      case arg::kind::string:
        return a.text;
      case arg::kind::integer:
        return a.number;
      case arg::kind::field: {
        const nlohmann::json* v = &data;
        for (const auto& name : a.path) {
          if (!v->is_object()) return missing();
          auto it = v->find(name);
          if (it == v->end()) return missing();
          v = &*it;
        }
        return *v;
      }
    }
    return missing();
  }

  nlohmann::json eval(const expr& e) {
    nlohmann::json v = value_of(e.args[0]);
    if (!e.index) return v;
    for (std::size_t i = 1; i < e.args.size(); ++i) {
      nlohmann::json key = value_of(e.args[i]);
      if (v.is_object() && key.is_string()) {
        auto it = v.find(key.get<std::string>());
        v = it == v.end() ? missing() : *it;
      } else if (v.is_array() && key.is_number_integer()) {
        auto n = key.get<long long>();
        if (n < 0 || n >= static_cast<long long>(v.size())) {
          if (error.empty()) error = "index out of range: " + std::to_string(n);
          return missing();
        }
        v = v[static_cast<std::size_t>(n)];
      } else if (v.is_null()) {
        return missing();
      } else {
        if (error.empty())
          error = "cannot index " + std::string(v.type_name()) + " with " + key.type_name();
        return missing();
      }
    }
    return v;
  }

  static bool truthy(const nlohmann::json& v) {
    if (v.is_null()) return false;
    if (v.is_boolean()) return v.get<bool>();
    if (v.is_number()) return v.get<double>() != 0;
    if (v.is_string()) return !v.get_ref<const std::string&>().empty();
    return !v.empty();
  }

  /// Go's fmt %v: lists as [a b], maps as map[k:v] (keys sorted).
  static void print(const nlohmann::json& v, std::string& out) {
    if (v.is_null()) return;
    if (v.is_string()) {
      out += v.get_ref<const std::string&>();
    } else if (v.is_array()) {
      out += '[';
      bool first = true;
      for (const auto& x : v) {
        if (!first) out += ' ';
        first = false;
        print(x, out);
      }
      out += ']';
    } else if (v.is_object()) {
      out += "map[";
      bool first = true;
      for (const auto& [k, x] : v.items()) {
        if (!first) out += ' ';
        first = false;
        out += k + ":";
        print(x, out);
      }
      out += ']';
    } else {
      out += hcl::to_json_text(v);
    }
  }

  void run(const std::vector<node>& nodes, std::string& out) {
    for (const auto& n : nodes) {
      switch (n.k) {
        case node::kind::text:
          out += n.text;
          break;
        case node::kind::value:
          print(eval(n.value), out);
          break;
        case node::kind::cond:
          for (const auto& b : n.branches) {
            if (!b.cond || truthy(eval(*b.cond))) {
              run(b.body, out);
              break;
            }
          }
          break;
      }
    }
  }
};

}  // namespace

std::variant<group_template, std::string> group_template::parse(std::string_view text) {
  if (text.size() > max_group_template_size)
    return "template: group: longer than " + std::to_string(max_group_template_size) + " bytes";
  parser p;
  p.src = text;
  auto nodes = std::make_shared<std::vector<node>>();
  std::optional<action> stop;
  if (!p.parse_list(*nodes, stop, 0)) return p.error;
  if (stop)
    return "template: group:" + std::to_string(stop->line) + ": unexpected {{" + stop->words[0] +
           "}}";
  group_template t;
  t.source_ = std::string(text);
  t.nodes_ = std::move(nodes);
  return t;
}

group_template::rendered group_template::render(const nlohmann::json& data) const {
  evaluator ev{data, {}};
  rendered r;
  if (nodes_) ev.run(*nodes_, r.text);
  if (!ev.error.empty()) r = {{}, "template: group: " + ev.error};
  return r;
}

}  // namespace pikoci::pipeline
