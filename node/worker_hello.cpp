#include "node/worker_hello.hpp"

#include <algorithm>
#include <utility>

namespace pikoci::node {
namespace {

using json = nlohmann::json;

std::string trimmed(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

bool usable_url(const std::string& url) {
  if (url.size() > 2048) return false;
  std::size_t scheme = url.rfind("http://", 0) == 0 ? 7 : url.rfind("https://", 0) == 0 ? 8 : 0;
  if (scheme == 0 || url.size() == scheme) return false;  // a host is needed
  return std::none_of(url.begin(), url.end(),
                      [](char c) { return static_cast<unsigned char>(c) <= ' ' || c == 0x7f; });
}

std::optional<cluster_view> read_cluster(const json& j) {
  if (!j.is_object() || !j.value("name", json()).is_string()) return std::nullopt;
  auto members = j.find("members");
  if (members == j.end() || !members->is_array()) return std::nullopt;
  cluster_view c;
  c.name = j["name"].get<std::string>();
  for (const auto& m : *members) {
    if (c.members.size() == max_cluster_members) break;
    if (!m.is_object() || !m.value("member_id", json()).is_string() ||
        !m.value("url", json()).is_string())
      continue;
    auto id = m["member_id"].get<std::string>();
    auto url = trimmed(m["url"].get<std::string>());
    if (id.size() > 256 || !usable_url(url)) continue;
    c.members.push_back({std::move(id), std::move(url)});
  }
  return c;
}

}  // namespace

register_answer read_register_answer(const json& j, const std::string& url) {
  register_answer a;
  if (!j.is_object() || !j.contains("kafka") || !j["kafka"].is_object() ||
      !j["kafka"].value("topic_prefix", json()).is_string()) {
    a.error = "the server at " + url + " did not answer as a pikoci-node server";
    return a;
  }
  const auto& k = j["kafka"];
  a.topic_prefix = k["topic_prefix"].get<std::string>();
  if (k.value("lease_ms", json()).is_number_unsigned())
    a.lease = std::chrono::milliseconds(k["lease_ms"].get<std::int64_t>());
  if (k.contains("broker") && k["broker"].is_object() &&
      k["broker"].value("heard_for_ms", json()).is_number_unsigned())
    a.heard_for = std::chrono::milliseconds(k["broker"]["heard_for_ms"].get<std::int64_t>());
  if (j.contains("cluster")) a.cluster = read_cluster(j["cluster"]);
  return a;
}

lease_servers::lease_servers(std::string url) : urls_{trimmed(std::move(url))} {}

void lease_servers::learn(const register_answer& a) {
  if (!a.cluster) return;
  std::vector<std::string> next{urls_.front()};
  for (const auto& m : a.cluster->members)
    if (std::find(next.begin(), next.end(), m.url) == next.end()) next.push_back(m.url);
  urls_ = std::move(next);
}

std::optional<register_answer> lease_servers::ask(const asker& ask) {
  // a copy: learning from an answer rewrites the list
  auto order = urls_;
  for (const auto& url : order) {
    auto a = ask(url);
    if (!a.error.empty()) continue;
    auto it = std::find(urls_.begin(), urls_.end(), url);
    if (it != urls_.end()) std::rotate(urls_.begin(), it, it + 1);
    learn(a);
    return a;
  }
  return std::nullopt;
}

}  // namespace pikoci::node
