#pragma once
// Text as messages show it.

#include <string>
#include <string_view>

namespace pikoci::domain {

/// `s` in double quotes the way Go's %q writes it, for names and values inside messages:
/// `"`, `\` and control characters escaped (\n, \t, ... or \xNN), and each byte that is not part
/// of valid UTF-8 as \xNN, so the result is always valid UTF-8 whatever `s` holds.
std::string quote(std::string_view s);

}  // namespace pikoci::domain
