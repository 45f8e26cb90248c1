// The `artifact` resource type: directories a build puts, versioned by the SHA-256 of their
// archive, kept by the node (its artifact routes, so a build on any worker can get them) or,
// with the `base_dir` param, in that directory of the worker (docs/resource-artifact.md).

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>

#include "builtin/handlers.hpp"
#include "connectors/http_client/http_client.hpp"
#include "connectors/process/process.hpp"
#include "persistence/artifact_store.hpp"

namespace pikoci::builtin {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using persistence::artifact_store;
using persistence::artifact_version;

/// What a worker reads back into memory to upload (the node's own limit is usually lower).
constexpr std::uintmax_t max_upload_bytes = std::uintmax_t{4} << 30;
constexpr std::chrono::minutes transfer_timeout{30};

/// Which resource the command is for: "<pipeline>/<resource>", set by the node.
struct target {
  std::string pipeline, resource;
};

std::optional<target> target_of(const context& ctx, std::string& error) {
  auto key = ctx.var("PIKOCI_RESOURCE");
  auto slash = key.find('/');
  target t;
  if (slash != std::string::npos) t = {key.substr(0, slash), key.substr(slash + 1)};
  if (!artifact_store::valid_name(t.pipeline) || !artifact_store::valid_name(t.resource)) {
    error = "PIKOCI_RESOURCE is not set to <pipeline>/<resource> (\"" + key +
            "\"): artifact commands run through the pikoci-node runner";
    return std::nullopt;
  }
  return t;
}

/// A temporary directory, removed with the object.
class scratch {
 public:
  scratch() {
    std::string tmpl = (fs::temp_directory_path() / "pikoci-artifact-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("cannot create " + tmpl);
    dir_ = tmpl;
  }
  ~scratch() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  const fs::path& dir() const { return dir_; }

 private:
  fs::path dir_;
};

/// Runs tar with `args`; its output goes to the handler's error stream.
bool run_tar(const context& ctx, const std::vector<std::string>& args) {
  std::vector<std::string> env;
  if (auto path = ctx.var("PATH"); !path.empty()) env.push_back("PATH=" + path);
  std::string output;
  auto out = process::run({"tar", args, env, ""}, {}, [&](std::string_view chunk) {
    if (output.size() < 64 * 1024) output.append(chunk);
  });
  if (!out.succeeded()) ctx.err() << output << (out.error.empty() ? "" : out.error + "\n");
  return out.succeeded();
}

/// The node's artifact routes of one resource.
struct node_store {
  std::string base;  // .../api/v1/artifacts/<pipeline>/<resource>
  std::map<std::string, std::string> auth;

  static std::optional<node_store> of(const context& ctx, const target& t, std::string& error) {
    auto url = ctx.var("PIKOCI_NODE_URL");
    auto token = ctx.var("PIKOCI_NODE_TOKEN");
    if (url.empty() || token.empty()) {
      error = "this worker does not know the node's URL or token (PIKOCI_NODE_URL)";
      return std::nullopt;
    }
    while (!url.empty() && url.back() == '/') url.pop_back();
    return node_store{url + "/api/v1/artifacts/" + http_client::url_segment(t.pipeline) + "/" +
                          http_client::url_segment(t.resource),
                      {{"Authorization", "Bearer " + token}}};
  }
};

std::string answer_error(const http_client::response& r) {
  if (!r.error.empty()) return r.error;
  try {
    auto j = json::parse(r.body);
    return "HTTP " + std::to_string(r.status) + ": " +
           j.at("error").at("message").get<std::string>();
  } catch (const std::exception&) {
    return "HTTP " + std::to_string(r.status);
  }
}

/// A version from the wire, checked.
std::optional<artifact_version> version_of(const json& j) {
  if (!j.is_object() || !j.contains("sha") || !j.contains("timestamp") || !j["sha"].is_string() ||
      !j["timestamp"].is_string())
    return std::nullopt;
  artifact_version v{j["sha"].get<std::string>(), j["timestamp"].get<std::string>()};
  if (!artifact_store::valid_sha(v.sha) || !artifact_store::valid_timestamp(v.timestamp))
    return std::nullopt;
  return v;
}

json to_json(const artifact_version& v) {
  return {{"sha", v.sha}, {"timestamp", v.timestamp}};
}

/// Sends the archive at `file` to the node; the version it recorded.
std::optional<artifact_version> upload(const node_store& node, const fs::path& file,
                                       std::string& error) {
  std::ifstream in(file, std::ios::binary);
  std::ostringstream bytes;
  bytes << in.rdbuf();
  auto headers = node.auth;
  headers["Content-Type"] = "application/gzip";
  auto r =
      http_client::request("POST", node.base, bytes.str(), headers, transfer_timeout, 64 * 1024);
  if (!r.ok() || r.status != 201) {
    error = "the node refused the artifact: " + answer_error(r);
    return std::nullopt;
  }
  try {
    if (auto v = version_of(json::parse(r.body))) return v;
  } catch (const std::exception&) {
  }
  error = "the node answered the upload with no version";
  return std::nullopt;
}

/// Fetches the archive of `sha` into `file` as it arrives, checking its SHA-256.
bool download(const node_store& node, const std::string& sha, const fs::path& file,
              std::string& error) {
  std::ofstream out(file, std::ios::binary | std::ios::trunc);
  persistence::sha256 h;
  auto r = http_client::stream(
      node.base + "/" + sha, node.auth,
      [&](std::string_view data) {
        h.feed(data);
        out.write(data.data(), static_cast<std::streamsize>(data.size()));
        return static_cast<bool>(out);
      },
      transfer_timeout);
  out.close();
  if (!r.ok() || r.status != 200) {
    error = "cannot fetch artifact " + sha + ": " + answer_error(r);
    return false;
  }
  if (!out || h.hex() != sha) {
    error = "artifact " + sha + " arrived damaged (its SHA-256 differs)";
    return false;
  }
  return true;
}

}  // namespace

int artifact_check(const context& ctx) {
  std::string error;
  auto t = target_of(ctx, error);
  if (!t) return ctx.fail(error);
  auto after = ctx.version("timestamp");
  if (!after.empty() && !artifact_store::valid_timestamp(after))
    return ctx.fail("version_timestamp \"" + after + "\" is not an artifact timestamp");
  std::vector<artifact_version> found;
  if (auto base = ctx.param("base_dir"); !base.empty()) {
    found = artifact_store(base).list(t->pipeline, t->resource, after);
  } else {
    auto node = node_store::of(ctx, *t, error);
    if (!node) return ctx.fail(error);
    auto r = http_client::request("GET", node->base + "?after=" + after, {}, node->auth,
                                  http_client::default_timeout, 1024 * 1024);
    if (!r.ok() || r.status != 200) return ctx.fail("cannot list artifacts: " + answer_error(r));
    json listed;
    try {
      listed = json::parse(r.body).at("versions");
    } catch (const std::exception&) {
      return ctx.fail("the node's list of artifacts is not JSON with \"versions\"");
    }
    for (const auto& j : listed) {
      auto v = version_of(j);
      if (!v) return ctx.fail("the node listed an invalid artifact version");
      found.push_back(*v);
    }
  }
  auto out = json::array();
  for (const auto& v : found) out.push_back(to_json(v));
  ctx.emit_versions(out);
  return 0;
}

int artifact_pull(const context& ctx) {
  std::string error;
  auto t = target_of(ctx, error);
  if (!t) return ctx.fail(error);
  auto sha = ctx.version("sha");
  if (!artifact_store::valid_sha(sha))
    return ctx.fail("version_sha \"" + sha + "\" is not a SHA-256: no artifact version to get");
  fs::path dest = ctx.workdir() / ctx.param("dir");
  scratch tmp;
  fs::path archive;
  if (auto base = ctx.param("base_dir"); !base.empty()) {
    auto found = artifact_store(base).archive(t->pipeline, t->resource, sha);
    if (!found) return ctx.fail("artifact " + sha + " not found in " + base);
    archive = *found;
  } else {
    auto node = node_store::of(ctx, *t, error);
    if (!node) return ctx.fail(error);
    archive = tmp.dir() / "artifact.tar.gz";
    if (!download(*node, sha, archive, error)) return ctx.fail(error);
  }
  std::error_code ec;
  fs::create_directories(dest, ec);
  if (ec) return ctx.fail("cannot create " + dest.string() + ": " + ec.message());
  if (!run_tar(ctx, {"-xzf", archive.string(), "--no-same-owner", "-C", dest.string()}))
    return ctx.fail("cannot extract artifact " + sha);
  ctx.out() << "extracted artifact " << sha << " into " << dest.string() << "\n";
  return 0;
}

int artifact_push(const context& ctx) {
  std::string error;
  auto t = target_of(ctx, error);
  if (!t) return ctx.fail(error);
  auto dir = ctx.put("dir");
  if (dir.empty())
    return ctx.fail("put an artifact with a `dir` attribute (the directory to store)");
  fs::path src = ctx.workdir() / dir;
  std::error_code ec;
  if (!fs::is_directory(src, ec)) return ctx.fail("directory \"" + dir + "\" not found");
  scratch tmp;
  fs::path archive = tmp.dir() / "artifact.tar.gz";
  if (!run_tar(ctx, {"-czf", archive.string(), "-C", src.string(), "."}))
    return ctx.fail("cannot archive " + src.string());
  auto size = fs::file_size(archive, ec);
  if (ec || size > max_upload_bytes) return ctx.fail("the archive of " + dir + " is too large");
  std::optional<artifact_version> v;
  if (auto base = ctx.param("base_dir"); !base.empty()) {
    std::ifstream in(archive, std::ios::binary);
    std::ostringstream bytes;
    bytes << in.rdbuf();
    v = artifact_store(base).add(t->pipeline, t->resource, bytes.str(), error);
  } else {
    auto node = node_store::of(ctx, *t, error);
    if (!node) return ctx.fail(error);
    v = upload(*node, archive, error);
  }
  if (!v) return ctx.fail(error);
  ctx.out() << "stored artifact " << v->sha << " (" << size << " bytes)\n";
  ctx.emit_versions(json::array({to_json(*v)}));
  return 0;
}

}  // namespace pikoci::builtin
