#include "http/request_gate.hpp"

#include <cctype>
#include <climits>

#include <http_parser.h>

#include "config/pipeline/names.hpp"
#include "config/pipeline/utf8.hpp"

namespace pikoci::http {

std::string_view request_head::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

namespace {

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i)
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i])))
      return false;
  return true;
}

}  // namespace

std::string percent_encode_message(std::string_view text) {
  static const char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '%') {
      out += c;
    } else {
      out += '%';
      out += digits[u >> 4];
      out += digits[u & 15];
    }
  }
  return out;
}

std::string percent_decode_message(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string path_problem(std::string_view path) {
  auto decoded = pipeline::percent_decode(path);
  if (!decoded) return "the request path has a '%' that is not followed by two hexadecimal digits";
  if (!hcl::is_valid_utf8(*decoded)) return "the request path is not UTF-8 once percent-decoded";
  return {};
}

std::string refusal_request(const refusal& r) {
  return "GET " + std::string(refusal_path) + " HTTP/1.1\r\nHost: pikoci\r\n" +
         std::string(refusal_code_header) + ": " + domain::to_string(r.code) + "\r\n" +
         std::string(refusal_message_header) + ": " + percent_encode_message(r.message) +
         "\r\nConnection: close\r\n\r\n";
}

/// http_parser and what its callbacks learn about the message being read.
struct request_gate::parser_state {
  http_parser parser{};
  http_parser_settings settings{};
  request_gate* gate = nullptr;

  enum class phase { idle, head, body } at = phase::idle;
  bool head_passed = false;  // this message's head went to RESTinio (its body follows)
  request_head head;
  std::string field;  // the field name being read
  bool last_was_value = true;
  std::optional<std::string>* capture = nullptr;  // where the field being read goes, if kept
  std::size_t fields = 0;
  std::uint64_t max_body = 0;
  std::uint64_t body = 0;
  std::optional<refusal> refuse;  // set by a callback, which then stops the parser
  bool broken = false;

  void reset_message() {
    at = phase::head;
    head_passed = false;
    head = request_head{};
    field.clear();
    last_was_value = true;
    capture = nullptr;
    fields = 0;
    body = 0;
  }

  /// Starts keeping the value of the field just named when the policy reads it: the token, the
  /// session cookie and the CSRF token. False (and `refuse` set) for a second Authorization.
  bool keep_field() {
    capture = nullptr;
    auto start = [this](std::optional<std::string>& f, const char* separator) {
      if (f) {
        f->append(separator);
      } else {
        f.emplace();
      }
      capture = &f;
    };
    if (iequals(field, "authorization")) {
      if (head.authorization) {  // two tokens: which one counts would be a guess
        refuse = refusal{errc::unauthenticated, "more than one Authorization header"};
        return false;
      }
      start(head.authorization, "");
    } else if (iequals(field, "cookie")) {
      start(head.cookie, "; ");
    } else if (iequals(field, "x-csrf-token")) {
      start(head.csrf_token, ", ");
    }
    return true;
  }

  static parser_state& of(http_parser* p) { return *static_cast<parser_state*>(p->data); }

  static int on_message_begin(http_parser* p) {
    of(p).reset_message();
    return 0;
  }
  static int on_url(http_parser* p, const char* at, std::size_t n) {
    auto& s = of(p);
    if (s.head.target.size() + n > s.gate->limits_.max_url_bytes) {
      s.refuse =
          refusal{errc::uri_too_long, "request URL longer than " +
                                          std::to_string(s.gate->limits_.max_url_bytes) + " bytes"};
      return 1;
    }
    s.head.target.append(at, n);
    return 0;
  }
  static int on_header_field(http_parser* p, const char* at, std::size_t n) {
    auto& s = of(p);
    if (s.at != phase::head) return 0;  // trailer fields of a chunked body
    if (s.last_was_value) {
      if (++s.fields > s.gate->limits_.max_fields) {
        s.refuse =
            refusal{errc::header_too_large,
                    "more than " + std::to_string(s.gate->limits_.max_fields) + " header fields"};
        return 1;
      }
      s.field.clear();
      s.last_was_value = false;
    }
    s.field.append(at, n);  // bounded by the head limit
    return 0;
  }
  static int on_header_value(http_parser* p, const char* at, std::size_t n) {
    auto& s = of(p);
    if (s.at != phase::head) return 0;
    if (!s.last_was_value) {
      s.last_was_value = true;
      if (!s.keep_field()) return 1;
    }
    if (s.capture != nullptr) (*s.capture)->append(at, n);  // bounded by the head limit
    return 0;
  }
  static int on_headers_complete(http_parser* p) {
    auto& s = of(p);
    s.head.method = http_method_str(static_cast<http_method>(p->method));
    if (p->content_length != ULLONG_MAX) s.head.content_length = p->content_length;
    s.head.chunked = (p->flags & F_CHUNKED) != 0;
    if (p->upgrade) {
      s.refuse = refusal{errc::bad_request, "protocol upgrades and CONNECT are not supported"};
      return -1;
    }
    if (auto problem = path_problem(s.head.path()); !problem.empty()) {
      s.refuse = refusal{errc::bad_request, std::move(problem)};
      return -1;
    }
    if (s.head.path().substr(0, refusal_path.size()) == refusal_path) {
      s.refuse = refusal{errc::not_found, "no route for " + std::string(s.head.path())};
      return -1;
    }
    auto v = s.gate->policy_(s.head);
    if (v.refuse) {
      s.refuse = std::move(v.refuse);
      return -1;
    }
    s.max_body = v.max_body_bytes;
    if (s.head.content_length && *s.head.content_length > s.max_body) {
      s.refuse = refusal{errc::payload_too_large,
                         "request body larger than " + std::to_string(s.max_body) + " bytes"};
      return -1;
    }
    s.at = phase::body;
    return 0;
  }
  static int on_body(http_parser* p, const char*, std::size_t n) {
    auto& s = of(p);
    s.body += n;
    if (s.body > s.max_body) {
      s.broken = true;
      return 1;
    }
    return 0;
  }
  static int on_message_complete(http_parser* p) {
    of(p).at = phase::idle;
    // Stop at the message's end, so the next head is held back from its first byte.
    http_parser_pause(p, 1);
    return 0;
  }
};

request_gate::request_gate(const gate_limits& limits, head_policy policy)
    : limits_(limits), policy_(std::move(policy)), p_(std::make_unique<parser_state>()) {
  http_parser_init(&p_->parser, HTTP_REQUEST);
  p_->parser.data = p_.get();
  p_->gate = this;
  http_parser_settings_init(&p_->settings);
  p_->settings.on_message_begin = &parser_state::on_message_begin;
  p_->settings.on_url = &parser_state::on_url;
  p_->settings.on_header_field = &parser_state::on_header_field;
  p_->settings.on_header_value = &parser_state::on_header_value;
  p_->settings.on_headers_complete = &parser_state::on_headers_complete;
  p_->settings.on_body = &parser_state::on_body;
  p_->settings.on_message_complete = &parser_state::on_message_complete;
}

request_gate::~request_gate() = default;

void request_gate::refuse(refusal r, std::string& out) {
  held_.clear();
  held_.shrink_to_fit();
  reason_ = std::string(domain::to_string(r.code)) + ": " + r.message;
  out += refusal_request(r);
  refused_ = true;
}

void request_gate::feed(const char* data, std::size_t size, std::string& out) {
  auto& s = *p_;
  while (size > 0 && !refused_ && !broken_) {
    bool holding = s.at != parser_state::phase::body;  // this message's head is not passed yet
    auto used = http_parser_execute(&s.parser, &s.settings, data, size);
    auto err = static_cast<http_errno>(s.parser.http_errno);
    if (s.refuse) return refuse(std::move(*s.refuse), out);
    if (s.broken) {
      broken_ = true;
      reason_ = "request body larger than " + std::to_string(s.max_body) + " bytes";
      return;
    }
    if (err != HPE_OK && err != HPE_PAUSED) {
      if (!holding) {  // the head went on already: RESTinio's parser fails the same way
        broken_ = true;
        reason_ = std::string("malformed request body: ") + http_errno_description(err);
        return;
      }
      if (err == HPE_HEADER_OVERFLOW)
        return refuse({errc::header_too_large, "request head too large"}, out);
      return refuse({errc::bad_request,
                     std::string("malformed HTTP request: ") + http_errno_description(err)},
                    out);
    }
    std::string_view segment(data, used);
    if (holding && s.at == parser_state::phase::head) {
      held_.append(segment);  // the head is not complete yet
      if (held_.size() > limits_.max_head_bytes)
        return refuse(
            {errc::header_too_large,
             "request head larger than " + std::to_string(limits_.max_head_bytes) + " bytes"},
            out);
    } else {
      out += held_;
      out.append(segment);
      held_.clear();
    }
    if (err == HPE_PAUSED) {
      // RESTinio starts a fresh parser for every message; so does the gate (a message with
      // "Connection: close" would otherwise leave it refusing whatever follows)
      http_parser_init(&s.parser, HTTP_REQUEST);
      s.parser.data = &s;
    }
    if (used == 0 && err != HPE_PAUSED) break;  // cannot happen; never spin
    data += used;
    size -= used;
  }
}

}  // namespace pikoci::http
