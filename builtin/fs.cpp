// The `fs` resource type: a file or a directory tree on the worker, versioned by content.

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <fstream>
#include <memory>
#include <vector>

#include "builtin/handlers.hpp"
#include "persistence/artifact_store.hpp"

namespace pikoci::builtin {
namespace {

namespace fs = std::filesystem;

using persistence::file_sha256;
using persistence::sha256;

/// A tree's hash: every entry's relative path, kind and content (a link's target, never
/// followed), in sorted order, so a rename or a new empty directory is a change too.
std::string tree_hash(const fs::path& root) {
  std::vector<fs::path> entries;
  for (auto it = fs::recursive_directory_iterator(root, fs::directory_options::none);
       it != fs::recursive_directory_iterator(); ++it)
    entries.push_back(it->path());
  std::sort(entries.begin(), entries.end());
  sha256 h;
  for (const auto& e : entries) {
    auto rel = fs::relative(e, root).generic_string();
    auto st = fs::symlink_status(e);
    std::string line;
    if (fs::is_symlink(st)) {
      line = "l " + rel + " " + fs::read_symlink(e).string();
    } else if (fs::is_directory(st)) {
      line = "d " + rel;
    } else if (fs::is_regular_file(st)) {
      line = "f " + rel + " " + file_sha256(e);
    } else {
      continue;  // sockets, fifos, devices: no content to version
    }
    h.feed(line);
    h.feed(std::string_view("\0", 1));
  }
  return h.hex();
}

}  // namespace

int fs_check(const context& ctx) {
  fs::path target = ctx.param("path");
  if (target.empty()) return ctx.fail("the fs resource needs a `path` param");
  if (target.is_relative()) target = ctx.workdir() / target;
  std::error_code ec;
  auto st = fs::status(target, ec);
  if (ec || !fs::exists(st)) {
    ctx.out() << "nothing at " << target.string() << "\n";
    ctx.emit_versions(nlohmann::json::array());
    return 0;
  }
  nlohmann::json v = {{"path", ctx.param("path")}};
  if (fs::is_directory(st)) {
    v["hash"] = tree_hash(target);
  } else {
    v["hash"] = file_sha256(target);
    v["size"] = std::to_string(fs::file_size(target));
    struct stat sb {};
    if (::stat(target.c_str(), &sb) == 0) v["modified"] = std::to_string(sb.st_mtime);
  }
  if (v["hash"] == ctx.version("hash")) {
    ctx.emit_versions(nlohmann::json::array());
    return 0;
  }
  ctx.emit_versions(nlohmann::json::array({v}));
  return 0;
}

int fs_pull(const context& ctx) {
  fs::path target = ctx.param("path");
  if (target.empty()) return ctx.fail("the fs resource needs a `path` param");
  std::error_code ec;
  if (fs::is_directory(target, ec)) {
    fs::copy(target, ctx.workdir(),
             fs::copy_options::recursive | fs::copy_options::overwrite_existing |
                 fs::copy_options::copy_symlinks);
  } else if (fs::is_regular_file(target, ec)) {
    fs::copy_file(target, ctx.workdir() / target.filename(),
                  fs::copy_options::overwrite_existing);
  } else {
    return ctx.fail("path not found: " + target.string());
  }
  ctx.out() << "copied " << target.string() << " into the work directory\n";
  return 0;
}

}  // namespace pikoci::builtin
