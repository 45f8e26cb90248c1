#include "domain/cluster.hpp"

#include <mutex>

namespace pikoci::domain::cluster {
namespace {

using nlohmann::json;

// Both records are small; anything bigger is not one of ours.
constexpr std::size_t max_record_bytes = 1 << 20;

/// The JSON object in `text`, or why there is none.
std::variant<json, std::string> object_of(std::string_view text, const char* what) {
  if (text.size() > max_record_bytes)
    return std::string(what) + " is " + std::to_string(text.size()) + " bytes, more than " +
           std::to_string(max_record_bytes);
  auto doc = json::parse(text.begin(), text.end(), nullptr, false);
  if (doc.is_discarded()) return std::string(what) + " is not JSON";
  if (!doc.is_object()) return std::string(what) + " is not a JSON object";
  return doc;
}

/// The integer member `name` of `doc` in [lo, hi], or nothing.
std::optional<int> int_in(const json& doc, const char* name, int lo, int hi) {
  auto it = doc.find(name);
  if (it == doc.end() || !it->is_number_integer()) return std::nullopt;
  auto v = it->get<std::int64_t>();
  if (v < lo || v > hi) return std::nullopt;
  return static_cast<int>(v);
}

}  // namespace

const char* to_string(partition_state s) {
  switch (s) {
    case partition_state::idle:
      return "idle";
    case partition_state::restoring:
      return "restoring";
    case partition_state::adopting:
      return "adopting";
    case partition_state::active:
      return "active";
    case partition_state::moving:
      return "moving";
    case partition_state::lost:
      return "lost";
    case partition_state::fenced:
      return "fenced";
  }
  return "idle";
}

std::string encode(const pipeline_summary& s) {
  json out{{"partition", s.partition},
           {"paused", s.paused},
           {"jobs", s.jobs},
           {"created_at", s.created_at},
           {"updated_at", s.updated_at}};
  if (!s.webhook_digests.empty()) out["webhooks"] = s.webhook_digests;
  return out.dump();
}

std::variant<pipeline_summary, std::string> decode_summary(std::string_view text) {
  auto parsed = object_of(text, "the catalog record");
  if (auto* why = std::get_if<std::string>(&parsed)) return *why;
  const auto& doc = std::get<json>(parsed);
  pipeline_summary s;
  auto k = int_in(doc, "partition", 0, max_partitions - 1);
  if (!k) return std::string("the catalog record has no partition in 0..62");
  s.partition = *k;
  auto paused = doc.find("paused");
  if (paused == doc.end() || !paused->is_boolean())
    return std::string("the catalog record has no \"paused\" true or false");
  s.paused = paused->get<bool>();
  auto jobs = doc.find("jobs");
  if (jobs == doc.end() || !jobs->is_array())
    return std::string("the catalog record has no \"jobs\" list");
  for (const auto& j : *jobs) {
    if (!j.is_string()) return std::string("the catalog record has a job name that is not text");
    s.jobs.push_back(j.get<std::string>());
  }
  for (const char* name : {"created_at", "updated_at"}) {
    auto it = doc.find(name);
    if (it == doc.end()) continue;
    if (!it->is_string()) return std::string("the catalog record's \"") + name + "\" is not text";
    (name[0] == 'c' ? s.created_at : s.updated_at) = it->get<std::string>();
  }
  if (auto hooks = doc.find("webhooks"); hooks != doc.end()) {
    if (!hooks->is_array() || hooks->size() > max_webhook_digests)
      return std::string("the catalog record's \"webhooks\" is not a list of at most ") +
             std::to_string(max_webhook_digests) + " digests";
    for (const auto& d : *hooks) {
      if (!d.is_string() || d.get_ref<const std::string&>().empty() ||
          d.get_ref<const std::string&>().size() > 128)
        return std::string("the catalog record has a webhook digest that is not 1 to 128 bytes");
      s.webhook_digests.push_back(d.get<std::string>());
    }
  }
  return s;
}

void catalog::apply(const std::string& name, std::optional<pipeline_summary> summary) {
  std::unique_lock<std::shared_mutex> l(mu_);
  if (summary)
    pipelines_[name] = std::move(*summary);
  else
    pipelines_.erase(name);
}

std::optional<pipeline_summary> catalog::get(const std::string& name) const {
  std::shared_lock<std::shared_mutex> l(mu_);
  auto it = pipelines_.find(name);
  if (it == pipelines_.end()) return std::nullopt;
  return it->second;
}

std::optional<std::string> catalog::pipeline_of_webhook(const std::string& digest) const {
  if (digest.empty()) return std::nullopt;
  std::shared_lock<std::shared_mutex> l(mu_);
  for (const auto& [name, s] : pipelines_)
    for (const auto& d : s.webhook_digests)
      if (d == digest) return name;
  return std::nullopt;
}

std::vector<std::pair<std::string, pipeline_summary>> catalog::list() const {
  std::shared_lock<std::shared_mutex> l(mu_);
  return {pipelines_.begin(), pipelines_.end()};
}

std::size_t catalog::size() const {
  std::shared_lock<std::shared_mutex> l(mu_);
  return pipelines_.size();
}

std::string encode(const cluster_record& r) {
  return json{{"partitions", r.partitions}, {"format", r.format}}.dump();
}

std::variant<cluster_record, std::string> decode_cluster_record(std::string_view text) {
  auto parsed = object_of(text, "the cluster record");
  if (auto* why = std::get_if<std::string>(&parsed)) return *why;
  const auto& doc = std::get<json>(parsed);
  auto format = doc.find("format");
  if (format == doc.end() || !format->is_number_integer())
    return std::string("the cluster record has no format");
  if (format->get<std::int64_t>() != cluster_format)
    return "the cluster record has format " + format->dump() + "; this node reads format " +
           std::to_string(cluster_format);
  auto partitions = int_in(doc, "partitions", 1, max_partitions);
  if (!partitions)
    return "the cluster record has no partitions in 1.." + std::to_string(max_partitions);
  return cluster_record{*partitions, cluster_format};
}

}  // namespace pikoci::domain::cluster
