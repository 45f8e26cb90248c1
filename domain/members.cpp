#include "domain/members.hpp"

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <random>
#include <tuple>

#include <nlohmann/json.hpp>

#include "domain/json_depth.hpp"
#include "domain/text.hpp"

namespace pikoci::domain {
namespace {

using json = nlohmann::json;

constexpr std::size_t max_text = 2048;  // ids, names, URLs
constexpr std::size_t max_depth = 8;

/// The error of a field that is not what a hello holds.
struct bad_field {
  std::string what;
};

std::string text_field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || !it->is_string()) throw bad_field{std::string(name) + " must be a string"};
  auto s = it->get<std::string>();
  if (s.empty() || s.size() > max_text)
    throw bad_field{std::string(name) + " must be 1-" + std::to_string(max_text) + " bytes"};
  return s;
}

std::optional<std::string> optional_text(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return std::nullopt;
  return text_field(j, name);
}

std::int64_t integer(const json& v, const std::string& name) {
  if (!v.is_number_integer()) throw bad_field{name + " must be an integer"};
  return v.get<std::int64_t>();
}

int partition_key(const std::string& key, const char* map) {
  if (key.empty() || key.size() > 4 ||
      !std::all_of(key.begin(), key.end(), [](char c) { return c >= '0' && c <= '9'; }))
    throw bad_field{std::string(map) + " keys must be partition numbers"};
  int k = std::stoi(key);
  if (k >= max_member_partitions)
    throw bad_field{std::string(map) + " names partition " + key + ", past the last one"};
  return k;
}

const json* object_field(const json& j, const char* name) {
  auto it = j.find(name);
  if (it == j.end() || it->is_null()) return nullptr;
  if (!it->is_object()) throw bad_field{std::string(name) + " must be an object"};
  if (it->size() > static_cast<std::size_t>(max_member_partitions))
    throw bad_field{std::string(name) + " names too many partitions"};
  return &*it;
}

hello hello_of(const json& j) {
  if (!j.is_object()) throw bad_field{"not a JSON object"};
  hello h;
  h.member_id = text_field(j, "member_id");
  h.cluster = optional_text(j, "cluster");
  auto mode = text_field(j, "mode");
  if (mode == "single")
    h.mode = member_mode::single;
  else if (mode == "cluster")
    h.mode = member_mode::cluster;
  else
    throw bad_field{"mode must be single or cluster"};
  if (h.mode == member_mode::cluster && !h.cluster) throw bad_field{"a cluster member names it"};
  auto state = optional_text(j, "state").value_or("running");
  if (state == "starting")
    h.state = member_state::starting;
  else if (state == "running")
    h.state = member_state::running;
  else if (state == "leaving")
    h.state = member_state::leaving;
  else
    throw bad_field{"state must be starting, running or leaving"};
  h.advertise_url = optional_text(j, "advertise_url");
  h.datacenter = optional_text(j, "datacenter");
  auto started = j.find("started_at");
  if (started == j.end()) throw bad_field{"started_at is missing"};
  h.started_at = integer(*started, "started_at");
  if (const json* owned = object_field(j, "owned")) {
    for (const auto& [key, claim] : owned->items()) {
      if (!claim.is_object()) throw bad_field{"owned values must be objects"};
      auto epoch = claim.find("epoch");
      if (epoch == claim.end()) throw bad_field{"owned values need an epoch"};
      h.owned[partition_key(key, "owned")] = {integer(*epoch, "epoch"), text_field(claim, "state")};
    }
  }
  if (const json* standby = object_field(j, "standby"))
    for (const auto& [key, lag] : standby->items())
      h.standby[partition_key(key, "standby")] = integer(lag, "standby lag");
  return h;
}

json nullable(const std::optional<std::string>& s) {
  return s ? json(*s) : json(nullptr);
}

std::string utc_text(wall_ms ms) {
  std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

auto order_key(const hello& h) {
  return std::tie(h.started_at, h.member_id);
}

/// Whether `m` owns partition `k` rather than `best` (none yet, or a lower epoch, then id):
/// `m` claims it active.
bool owns_over(const member& m, const std::optional<member>& best, int k) {
  auto claim = m.last.owned.find(k);
  if (claim == m.last.owned.end() || claim->second.state != "active") return false;
  return !best || std::tie(claim->second.epoch, m.last.member_id) >
                      std::tie(best->last.owned.at(k).epoch, best->last.member_id);
}

}  // namespace

std::string_view to_string(member_mode m) {
  return m == member_mode::single ? "single" : "cluster";
}

std::string_view to_string(member_state s) {
  switch (s) {
    case member_state::starting:
      return "starting";
    case member_state::running:
      return "running";
    case member_state::leaving:
      return "leaving";
  }
  return "running";
}

std::string encode(const hello& h) {
  json owned = json::object(), standby = json::object();
  for (const auto& [k, c] : h.owned)
    owned[std::to_string(k)] = {{"epoch", c.epoch}, {"state", c.state}};
  for (const auto& [k, lag] : h.standby) standby[std::to_string(k)] = lag;
  json j{{"member_id", h.member_id},
         {"cluster", nullable(h.cluster)},
         {"mode", to_string(h.mode)},
         {"state", to_string(h.state)},
         {"advertise_url", nullable(h.advertise_url)},
         {"datacenter", nullable(h.datacenter)},
         {"started_at", h.started_at},
         {"owned", std::move(owned)},
         {"standby", std::move(standby)}};
  return j.dump();
}

hello_result decode_hello(std::string_view text) {
  if (text.size() > max_hello_bytes)
    return {std::nullopt, "longer than " + std::to_string(max_hello_bytes) + " bytes"};
  if (json_depth(text) > max_depth) return {std::nullopt, "nested too deeply"};
  auto j = json::parse(text.begin(), text.end(), nullptr, false);
  if (j.is_discarded()) return {std::nullopt, "not JSON"};
  try {
    return {hello_of(j), {}};
  } catch (const bad_field& e) {
    return {std::nullopt, e.what};
  } catch (const std::exception& e) {  // a number out of range
    return {std::nullopt, e.what()};
  }
}

std::string new_member_id() {
  std::random_device rd;
  std::uniform_int_distribution<unsigned> byte(0, 255);
  unsigned char b[16];
  for (auto& x : b) x = static_cast<unsigned char>(byte(rd));
  b[6] = static_cast<unsigned char>((b[6] & 0x0f) | 0x40);  // version 4
  b[8] = static_cast<unsigned char>((b[8] & 0x3f) | 0x80);  // RFC 4122 variant
  char out[37];
  std::snprintf(out, sizeof out,
                "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1],
                b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14],
                b[15]);
  return out;
}

// ---- the directory

bool members::heard(const hello& h, wall_ms sent_at) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = by_id_.find(h.member_id);
  if (it != by_id_.end() && it->second.seen_at > sent_at) return true;  // an older one, late
  if (it == by_id_.end() && by_id_.size() >= max_members) {
    forget_stale(sent_at);
    if (by_id_.size() >= max_members) return false;
  }
  by_id_[h.member_id] = member{h, sent_at};
  return true;
}

void members::forget_stale(wall_ms now) {
  for (auto it = by_id_.begin(); it != by_id_.end();)
    it = it->second.live(now) ? std::next(it) : by_id_.erase(it);
}

std::vector<member> members::live(wall_ms now) const {
  std::vector<member> out;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    for (const auto& [id, m] : by_id_)
      if (m.live(now)) out.push_back(m);
  }
  std::sort(out.begin(), out.end(),
            [](const member& a, const member& b) { return order_key(a.last) < order_key(b.last); });
  return out;
}

std::optional<member> members::owner(int k, wall_ms now) const {
  std::optional<member> best;
  std::lock_guard<std::mutex> lock(mutex_);
  for (const auto& [id, m] : by_id_)
    if (m.live(now) && owns_over(m, best, k)) best = m;
  return best;
}

std::optional<member> owner(int k, const std::vector<member>& live) {
  std::optional<member> best;
  for (const auto& m : live)
    if (owns_over(m, best, k)) best = m;
  return best;
}

std::set<int> standby_partitions(const std::vector<member>& live, const std::string& self,
                                 int partitions, int replicas) {
  std::set<int> out;
  auto me = std::find_if(live.begin(), live.end(),
                         [&](const member& m) { return m.last.member_id == self; });
  if (me == live.end() || me->last.mode != member_mode::cluster || replicas < 1) return out;
  std::vector<std::string> ids;  // the cluster's members, by member id
  for (const auto& m : live)
    if (m.last.mode == member_mode::cluster && m.last.cluster == me->last.cluster &&
        m.last.state != member_state::leaving)
      ids.push_back(m.last.member_id);
  std::sort(ids.begin(), ids.end());
  ids.erase(std::unique(ids.begin(), ids.end()), ids.end());
  const int n = static_cast<int>(ids.size());
  for (int k = 0; k < partitions && k < max_member_partitions; ++k) {
    auto o = owner(k, live);
    if (!o || o->last.member_id == self) continue;
    auto at = std::lower_bound(ids.begin(), ids.end(), o->last.member_id);
    // an owner of another cluster: the rule starts where its id would be
    int i = static_cast<int>(at - ids.begin());
    const bool owner_listed = at != ids.end() && *at == o->last.member_id;
    if (owner_listed) ++i;
    for (int taken = 0, step = 0; taken < replicas && step < n; ++step) {
      const auto& id = ids[static_cast<std::size_t>((i + step) % n)];
      if (id == o->last.member_id) continue;
      ++taken;
      if (id == self) {
        out.insert(k);
        break;
      }
    }
  }
  return out;
}

std::size_t members::size() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return by_id_.size();
}

// ---- refusal

std::optional<member> conflict(const hello& self, const std::vector<member>& live) {
  for (const auto& m : live) {
    const hello& other = m.last;
    if (other.member_id == self.member_id || other.state == member_state::leaving) continue;
    bool same_cluster = self.mode == member_mode::cluster && other.mode == member_mode::cluster &&
                        self.cluster == other.cluster;
    if (same_cluster) continue;
    // two starting at once: the earlier one stays, the later one sees it and gives way
    if (other.state == member_state::starting && order_key(self) < order_key(other)) continue;
    return m;
  }
  return std::nullopt;
}

std::string refusal_message(const member& other, const std::string& topic_prefix) {
  const hello& h = other.last;
  std::string who = h.mode == member_mode::single
                        ? "a single server"
                        : "a node of the cluster " + quote(h.cluster.value_or(""));
  std::string where = h.advertise_url ? "at " + *h.advertise_url : "not listening yet";
  std::string state = h.state == member_state::starting ? ", starting" : "";
  return "another pikoci server already uses the Kafka topic prefix " + quote(topic_prefix) +
         " on these brokers: " + who + " " + where + " (member " + h.member_id + state +
         ", started " + utc_text(h.started_at) +
         "); stop it, or give this server another --kafka-topic-prefix";
}

}  // namespace pikoci::domain
