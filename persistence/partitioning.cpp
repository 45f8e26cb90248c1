#include "persistence/partitioning.hpp"

#include <string>

#include "persistence/keys.hpp"

namespace pikoci::persistence {
namespace {

/// A partition index written in decimal by keys.hpp, or -1.
int parse_partition(std::string_view text, int partitions) {
  if (text.empty() || text.size() > 2 || (text.size() > 1 && text[0] == '0')) return -1;
  int k = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return -1;
    k = k * 10 + (c - '0');
  }
  return k < partitions ? k : -1;
}

route of_pipeline(std::string_view p, int partitions, route::kind kind = route::kind::partition) {
  if (p.empty()) return {};
  return {kind, partition_of(p, partitions)};
}

route of_meta(std::string_view what, std::string_view arg, int partitions) {
  if (what == "cluster") return {route::kind::global, partitions};
  if (what == "epoch") {
    auto k = parse_partition(arg, partitions);
    return k < 0 ? route{} : route{route::kind::partition, k};
  }
  if (what == "format" || what == "admin" || what == "global_offset" || what == "changelog" ||
      what == "changelog_at")
    return {route::kind::local, -1};
  return {};
}

}  // namespace

std::uint64_t fnv1a64(std::string_view bytes) {
  std::uint64_t h = 14695981039346656037ull;
  for (unsigned char c : bytes) {
    h ^= c;
    h *= 1099511628211ull;
  }
  return h;
}

int partition_of(std::string_view pipeline, int partitions) {
  if (partitions < 1 || partitions > max_partitions) return -1;
  return static_cast<int>(fnv1a64(pipeline) % static_cast<std::uint64_t>(partitions));
}

route route_of(const write_op& op, int partitions) {
  if (partitions < 1 || partitions > max_partitions) return {};
  if (!op.scope.empty()) return of_pipeline(op.scope, partitions);
  auto h = keys::split(op.key);
  if (h.count < 2) return {};
  auto tag = h[0], first = h[1];
  if (tag == "pipeline" || tag == "version" || tag == "usage" || tag == "check" || tag == "build")
    return of_pipeline(first, partitions);
  if (tag == "catalog") return of_pipeline(first, partitions, route::kind::global);
  if (tag == "user") return first.empty() ? route{} : route{route::kind::global, partitions};
  if (tag == "secret") {
    if (first == "team" && h.count >= 3 && !h[2].empty()) return {route::kind::global, partitions};
    if (first == "pipeline" && h.count >= 3)
      return of_pipeline(h[2], partitions, route::kind::global);
    return {};
  }
  if (tag == "meta") return of_meta(first, h[2], partitions);
  return {};  // outbox/<id> without its scope, or a key of no known layout
}

}  // namespace pikoci::persistence
