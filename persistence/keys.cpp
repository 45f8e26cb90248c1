#include "persistence/keys.hpp"

#include <cstdio>

namespace pikoci::persistence::keys {

std::string join(std::initializer_list<std::string_view> parts) {
  std::string out;
  for (auto p : parts) {
    if (!out.empty()) out.push_back('\0');
    out.append(p);
  }
  return out;
}

std::string prefix(std::initializer_list<std::string_view> parts) {
  auto out = join(parts);
  out.push_back('\0');
  return out;
}

std::string id(std::int64_t n) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "%020lld", static_cast<long long>(n));
  return buf;
}

std::string_view last(std::string_view key) {
  auto pos = key.rfind('\0');
  return pos == std::string_view::npos ? key : key.substr(pos + 1);
}

parts split(std::string_view key) {
  parts out;
  for (;;) {
    auto end = key.find('\0');
    out.part[out.count++] = key.substr(0, end);
    if (end == std::string_view::npos) break;
    if (out.count == parts::capacity) {
      out.more = true;
      break;
    }
    key.remove_prefix(end + 1);
  }
  return out;
}

}  // namespace pikoci::persistence::keys
