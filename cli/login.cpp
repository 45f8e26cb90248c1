#include "cli/login.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>

#include <nlohmann/json.hpp>

#include "cli/reply.hpp"

namespace pikoci::cli {

namespace fs = std::filesystem;
using nlohmann::json;

namespace {

constexpr std::size_t max_token_file_bytes = 1024 * 1024;

/// The file's JSON object (`{url: {"username", "token"}}`); an empty object when there is no
/// file, or it is unreadable or damaged (a login writes a good one again).
json read_tokens(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return json::object();
  std::string text;
  text.resize(max_token_file_bytes + 1);
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (text.size() > max_token_file_bytes) return json::object();
  json j = decode_reply(text);
  return j.is_object() ? j : json::object();
}

/// Writes `tokens` to a new 0600 file beside `file`, then renames it over `file`.
std::string write_tokens(const fs::path& file, const json& tokens) {
  std::error_code ec;
  fs::create_directories(file.parent_path(), ec);
  if (ec) return "cannot create " + file.parent_path().string() + ": " + ec.message();
  ::chmod(file.parent_path().c_str(), 0700);
  fs::path tmp = file;
  tmp += ".tmp." + std::to_string(::getpid());
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return "cannot write " + tmp.string() + ": " + std::strerror(errno);
  ::fchmod(fd, 0600);  // an old file of that name may have had another mode
  std::string text = tokens.dump(2) + "\n";
  std::size_t done = 0;
  while (done < text.size()) {
    auto n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    done += static_cast<std::size_t>(n);
  }
  bool ok = done == text.size() && ::fsync(fd) == 0;
  ok = ::close(fd) == 0 && ok;
  if (!ok || ::rename(tmp.c_str(), file.c_str()) != 0) {
    std::string why = std::strerror(errno);
    ::unlink(tmp.c_str());
    return "cannot write " + file.string() + ": " + why;
  }
  return {};
}

}  // namespace

fs::path token_file() {
  const char* xdg = std::getenv("XDG_CONFIG_HOME");
  if (xdg != nullptr && *xdg == '/') return fs::path(xdg) / "pikoci-node" / "tokens.json";
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home != '\0')
    return fs::path(home) / ".config" / "pikoci-node" / "tokens.json";
  return {};
}

std::optional<std::string> stored_token(const std::string& url) {
  auto file = token_file();
  if (file.empty()) return std::nullopt;
  auto token = text(at(read_tokens(file), url.c_str()), "token");
  if (token.empty()) return std::nullopt;
  return token;
}

std::string store_token(const std::string& url, const std::string& username,
                        const std::string& token) {
  auto file = token_file();
  if (file.empty()) return "neither XDG_CONFIG_HOME nor HOME is set: nowhere to keep the token";
  json tokens = read_tokens(file);
  tokens[url] = {{"username", username}, {"token", token}};
  return write_tokens(file, tokens);
}

std::string forget_token(const std::string& url, bool& forgotten) {
  forgotten = false;
  auto file = token_file();
  if (file.empty()) return {};
  json tokens = read_tokens(file);
  if (!tokens.contains(url)) return {};
  tokens.erase(url);
  forgotten = true;
  return write_tokens(file, tokens);
}

std::optional<std::string> read_password(const std::string& what, std::istream& in,
                                         std::ostream& prompt) {
  std::string line;
  bool terminal = &in == &std::cin && ::isatty(STDIN_FILENO) == 1;
  if (terminal) {
    prompt << what << ": " << std::flush;
    termios old{};
    bool quiet = ::tcgetattr(STDIN_FILENO, &old) == 0;
    if (quiet) {
      termios silent = old;
      silent.c_lflag &= ~static_cast<tcflag_t>(ECHO);
      ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &silent);
    }
    std::getline(in, line);
    if (quiet) ::tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
    prompt << "\n";
  } else {
    std::getline(in, line);
  }
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.empty()) return std::nullopt;
  return line;
}

}  // namespace pikoci::cli
