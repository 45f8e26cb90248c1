#pragma once
// UTF-8 helpers shared by the lexer, the parser, the function library and slugs, and by every
// edge where outside bytes (process output, HTTP headers) become text the node stores or shows.
// Strict about validity: overlong forms, surrogates and values past U+10FFFF are not UTF-8.

#include <cstddef>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace pikoci::hcl {

/// Length of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are not UTF-8.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

/// Decodes the character at s[i] and advances `i` past it. Bytes that are not UTF-8 decode one at
/// a time to U+FFFD, the way Go ranges over a string.
char32_t decode_utf8(std::string_view s, std::size_t& i);

/// Appends the UTF-8 encoding of `cp`.
void append_utf8(std::string& out, char32_t cp);

/// Whether all of `s` is UTF-8.
bool is_valid_utf8(std::string_view s);

/// `s` with every byte that is not part of a UTF-8 sequence replaced by U+FFFD (one per byte,
/// as decode_utf8 reads them). Valid text comes back unchanged.
std::string to_valid_utf8(std::string_view s);

/// Cuts an incomplete UTF-8 sequence off the end of `chunk` and returns it (at most 3 bytes), so
/// a character split between two chunks of a stream can travel whole in the next one instead of
/// becoming two U+FFFD. Bytes that are not UTF-8 at all stay where they are.
std::string take_incomplete_utf8_tail(std::string& chunk);

/// Turns a byte stream (a process's output, read in arbitrary chunks) into valid UTF-8 chunks: a
/// character split between two reads comes out whole with the second; invalid bytes become
/// U+FFFD. `finish` returns what is left at the end (an unfinished character, as U+FFFD).
class utf8_stream {
 public:
  std::string feed(std::string_view chunk);
  std::string finish();

 private:
  std::string pending_;  // the start of a character the last chunk ended in
};

/// JSON text of `j` with invalid UTF-8 in its strings replaced by U+FFFD: serializing never
/// throws (nlohmann's plain dump() throws type_error.316 on such strings). Every dump of a
/// document that may hold outside bytes goes through this. `indent` as in dump().
std::string to_json_text(const nlohmann::json& j, int indent = -1);
std::string to_json_text(const nlohmann::ordered_json& j, int indent = -1);

}  // namespace pikoci::hcl
