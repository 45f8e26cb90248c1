#include "persistence/checkpoints.hpp"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <string>
#include <vector>

namespace pikoci::persistence::checkpoints {
namespace {

namespace fs = std::filesystem;
using ms = std::chrono::milliseconds;

/// "20261203T114643.123Z": UTC, to the millisecond, so name order is time order.
std::string name_of(std::int64_t t) {
  std::time_t secs = static_cast<std::time_t>(t / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char out[32];
  std::snprintf(out, sizeof out, "%04d%02d%02dT%02d%02d%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(t % 1000));
  return out;
}

/// The time a checkpoint's name stands for, or nullopt when it is not such a name.
std::optional<std::int64_t> time_of(const std::string& name) {
  std::tm tm{};
  int millis = 0;
  char z = 0;
  if (name.size() != 20 ||
      std::sscanf(name.c_str(), "%4d%2d%2dT%2d%2d%2d.%3d%c", &tm.tm_year, &tm.tm_mon, &tm.tm_mday,
                  &tm.tm_hour, &tm.tm_min, &tm.tm_sec, &millis, &z) != 8 ||
      z != 'Z')
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  auto t = static_cast<std::int64_t>(timegm(&tm)) * 1000 + millis;
  if (name_of(t) != name) return std::nullopt;
  return t;
}

/// The checkpoints in `dir`, oldest first.
std::vector<std::string> listed(const fs::path& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (e.is_directory(ec) && time_of(name)) out.push_back(name);
  }
  std::sort(out.begin(), out.end());
  return out;
}

/// Removes all but the newest `kept` checkpoints, and what interrupted ones left (RocksDB
/// writes into `<name>.tmp` and renames it when done). Best effort: a leftover is removed the
/// next time.
void prune(const fs::path& dir) {
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    auto name = e.path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, ".tmp") == 0 &&
        time_of(name.substr(0, name.size() - 4)))
      fs::remove_all(e.path(), ec);
  }
  auto all = listed(dir);
  for (std::size_t i = 0; i + kept < all.size(); ++i) fs::remove_all(dir / all[i], ec);
}

}  // namespace

fs::path directory(const fs::path& db_path) {
  return db_path / "checkpoints";
}

fs::path take(const store& s, const fs::path& db_path) {
  auto dir = directory(db_path);
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) throw store_error("checkpoint: cannot create " + dir.string() + ": " + ec.message());
  auto t =
      std::chrono::duration_cast<ms>(std::chrono::system_clock::now().time_since_epoch()).count();
  // a clock that went back must not name the new checkpoint older than the kept ones
  auto existing = listed(dir);
  if (!existing.empty()) t = std::max(t, *time_of(existing.back()) + 1);
  auto target = dir / name_of(t);
  try {
    s.export_to(target);
  } catch (const store_error&) {
    fs::remove_all(target, ec);
    throw;
  }
  prune(dir);
  return target;
}

std::optional<fs::path> newest(const fs::path& db_path) {
  auto dir = directory(db_path);
  auto all = listed(dir);
  std::error_code ec;
  for (auto it = all.rbegin(); it != all.rend(); ++it)
    if (fs::exists(dir / *it / "CURRENT", ec)) return dir / *it;
  return std::nullopt;
}

}  // namespace pikoci::persistence::checkpoints
