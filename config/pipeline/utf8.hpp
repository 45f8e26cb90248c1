#pragma once
// UTF-8 helpers shared by the lexer, the parser, the function library and slugs. Strict about
// validity: overlong forms, surrogates and values past U+10FFFF are not UTF-8.

#include <cstddef>
#include <string>
#include <string_view>

namespace pikoci::hcl {

/// Length of the valid UTF-8 sequence starting at s[i], or 0 when the bytes there are not UTF-8.
std::size_t utf8_sequence_length(std::string_view s, std::size_t i);

/// Decodes the character at s[i] and advances `i` past it. Bytes that are not UTF-8 decode one at
/// a time to U+FFFD, the way Go ranges over a string.
char32_t decode_utf8(std::string_view s, std::size_t& i);

/// Appends the UTF-8 encoding of `cp`.
void append_utf8(std::string& out, char32_t cp);

}  // namespace pikoci::hcl
