#include "domain/text.hpp"

#include <cstdio>
#include <utility>

namespace pikoci::domain {

namespace {

bool between(std::string_view s, std::size_t i, unsigned lo, unsigned hi) {
  if (i >= s.size()) return false;
  auto c = static_cast<unsigned char>(s[i]);
  return c >= lo && c <= hi;
}

/// The length of the well-formed UTF-8 sequence of several bytes starting at `i` (no overlong
/// forms, surrogates or code points past U+10FFFF), or 0.
std::size_t sequence_at(std::string_view s, std::size_t i) {
  auto c = static_cast<unsigned char>(s[i]);
  if (c >= 0xC2 && c <= 0xDF) return between(s, i + 1, 0x80, 0xBF) ? 2 : 0;
  if (c >= 0xE0 && c <= 0xEF) {
    unsigned lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    return between(s, i + 1, lo, hi) && between(s, i + 2, 0x80, 0xBF) ? 3 : 0;
  }
  if (c >= 0xF0 && c <= 0xF4) {
    unsigned lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    return between(s, i + 1, lo, hi) && between(s, i + 2, 0x80, 0xBF) &&
                   between(s, i + 3, 0x80, 0xBF)
               ? 4
               : 0;
  }
  return 0;
}

/// Go's escapes of one letter (\n, ...), or null.
const char* short_escape(unsigned char c) {
  constexpr std::pair<char, const char*> escapes[] = {{'"', "\\\""}, {'\\', "\\\\"}, {'\a', "\\a"},
                                                      {'\b', "\\b"}, {'\f', "\\f"},  {'\n', "\\n"},
                                                      {'\r', "\\r"}, {'\t', "\\t"},  {'\v', "\\v"}};
  for (const auto& [from, to] : escapes)
    if (c == static_cast<unsigned char>(from)) return to;
  return nullptr;
}

void hex_escape(std::string& out, unsigned char c) {
  char buf[8];
  std::snprintf(buf, sizeof buf, "\\x%02x", c);
  out += buf;
}

}  // namespace

std::string quote(std::string_view s) {
  std::string out = "\"";
  for (std::size_t i = 0; i < s.size(); ++i) {
    auto c = static_cast<unsigned char>(s[i]);
    if (const char* e = short_escape(c)) {
      out += e;
    } else if (c < 0x20 || c == 0x7F) {
      hex_escape(out, c);
    } else if (c < 0x80) {
      out += static_cast<char>(c);
    } else if (std::size_t n = sequence_at(s, i); n != 0) {
      out.append(s.substr(i, n));
      i += n - 1;
    } else {
      hex_escape(out, c);
    }
  }
  return out + "\"";
}

}  // namespace pikoci::domain
