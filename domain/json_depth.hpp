#pragma once
// How deeply a JSON text nests, read before it is parsed: every decoder of text from outside the
// node (request bodies, replies, Kafka messages, hellos) refuses a text nested beyond its limit
// before the parser builds it, so a hostile document never reaches code that recurses over it.

#include <cstddef>
#include <string_view>

namespace pikoci::domain {

/// The deepest nesting of `text`'s arrays and objects (0 for a scalar): the brackets outside
/// strings, string contents (escaped quotes included) skipped. Linear, no recursion, meaningful
/// for any text, valid JSON or not (a closing bracket without its opening one is ignored).
std::size_t json_depth(std::string_view text);

}  // namespace pikoci::domain
