#pragma once
// `client login` and `client logout`: the token of a login kept per node URL in a file only the
// user can read, so later commands need no --token (docs/users.md), and passwords asked for
// without echo. The token is never printed.

#include <filesystem>
#include <iosfwd>
#include <optional>
#include <string>

namespace pikoci::cli {

/// The token file: $XDG_CONFIG_HOME/pikoci-node/tokens.json, else
/// $HOME/.config/pikoci-node/tokens.json; empty when neither variable is set.
std::filesystem::path token_file();

/// The token kept for `url` (without trailing slashes), if any.
std::optional<std::string> stored_token(const std::string& url);
/// Keeps `token` for `url`, replacing the one before; the file is written whole (a new file
/// renamed over the old one) with mode 0600, its directory 0700. "" or why not.
std::string store_token(const std::string& url, const std::string& username,
                        const std::string& token);
/// Forgets the token of `url`: whether there was one, or why the file could not be written.
std::string forget_token(const std::string& url, bool& forgotten);

/// A password (or another secret) for `what`: asked on the terminal without echo when standard
/// input is one, else the first line of standard input. nullopt when none was given.
std::optional<std::string> read_password(const std::string& what, std::istream& in,
                                         std::ostream& prompt);

}  // namespace pikoci::cli
