#include "persistence/records.hpp"

#include <stdexcept>

namespace pikoci::persistence {
namespace {

using nlohmann::json;

/// Decodes every entry of `doc[member]` with `one`; what does not decode goes to `bad` with the
/// message of the exception (the whole member under "" when it is not an object).
template <class T, class Decode>
void decode_entries(const json& doc, const char* member, std::map<std::string, T>& out,
                    std::map<std::string, std::string>& bad, Decode one) {
  auto it = doc.find(member);
  const json entries = it == doc.end() ? json(nullptr) : *it;
  if (!entries.is_object()) {
    try {
      (void)entries.value("", json::object());  // throws: the message of the old lookup
    } catch (const std::exception& e) {
      bad[""] = e.what();
    }
    return;
  }
  for (const auto& [name, entry] : entries.items()) {
    try {
      out[name] = one(entry);
    } catch (const std::exception& e) {
      bad[name] = e.what();
    }
  }
}

job_settings job_from_json(const json& saved) {
  job_settings s;
  if (!saved.is_object() || saved.contains("paused")) s.paused = saved.value("paused", false);
  s.baseline = saved.value("baseline", std::int64_t{0});
  return s;
}

resource_settings resource_from_json(const json& saved) {
  resource_settings s;
  if (auto pinned = saved.value("pinned", json(nullptr)); pinned.is_number())
    s.pinned = pinned.get<std::int64_t>();
  if (saved.contains("webhook_token")) s.webhook_token = saved.value("webhook_token", "");
  return s;
}

template <class T>
T settings_of(const std::map<std::string, T>& good, const std::map<std::string, std::string>& bad,
              const std::string& name) {
  if (auto all = bad.find(""); all != bad.end()) throw std::runtime_error(all->second);
  if (auto b = bad.find(name); b != bad.end()) throw std::runtime_error(b->second);
  auto it = good.find(name);
  return it == good.end() ? T{} : it->second;
}

/// A text field; "" when missing or not text.
std::string text_of(const json& d, const char* key) {
  auto it = d.find(key);
  return it != d.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace

json to_json(const pipeline_record& r) {
  json jobs = json::object(), resources = json::object();
  for (const auto& [name, j] : r.jobs)
    jobs[name] = {{"paused", j.paused.value_or(false)}, {"baseline", j.baseline}};
  for (const auto& [canonical, res] : r.resources)
    resources[canonical] = {{"pinned", res.pinned ? json(*res.pinned) : json(nullptr)},
                            {"webhook_token", res.webhook_token.value_or("")}};
  return {{"name", r.name},
          {"text", r.text},
          {"vars", r.vars},
          {"sources", r.sources},
          {"created_at", r.created_at},
          {"updated_at", r.updated_at},
          {"paused", r.paused},
          {"concurrency",
           {{"mode", r.mode},
            {"group_template", r.group_template},
            {"cancel_running", r.cancel_running}}},
          {"jobs", std::move(jobs)},
          {"resources", std::move(resources)},
          {"git_webhook", {{"secret", r.git_secret}, {"deliveries", r.deliveries}}}};
}

pipeline_record pipeline_from_json(const json& d) {
  pipeline_record r;
  r.text = pipeline_text(d);  // throws first when `d` is not an object
  r.name = text_of(d, "name");
  r.vars = pipeline_vars(d);
  r.sources = pipeline_sources(d);
  r.created_at = text_of(d, "created_at");
  r.updated_at = text_of(d, "updated_at");
  r.paused = d.value("paused", false);
  auto c = d.value("concurrency", json::object());
  r.mode = c.value("mode", "");
  r.cancel_running = c.value("cancel_running", false);
  r.group_template = c.value("group_template", "");
  if (auto git = d.value("git_webhook", json::object()); git.is_object()) {
    r.git_secret = git.value("secret", "");
    for (const auto& id : git.value("deliveries", json::array()))
      if (id.is_string()) r.deliveries.push_back(id.get<std::string>());
  }
  decode_entries(d, "jobs", r.jobs, r.bad_jobs, job_from_json);
  decode_entries(d, "resources", r.resources, r.bad_resources, resource_from_json);
  return r;
}

std::string pipeline_text(const json& doc) {
  return doc.value("text", "");
}

json pipeline_vars(const json& doc) {
  return doc.value("vars", json::object());
}

std::map<std::string, std::string> pipeline_sources(const json& doc) {
  std::map<std::string, std::string> out;
  auto it = doc.find("sources");
  if (it == doc.end() || !it->is_object()) return out;
  for (const auto& [url, body] : it->items())
    if (body.is_string()) out[url] = body.get<std::string>();
  return out;
}

job_settings job_settings_of(const pipeline_record& r, const std::string& name) {
  return settings_of(r.jobs, r.bad_jobs, name);
}

resource_settings resource_settings_of(const pipeline_record& r, const std::string& canonical) {
  return settings_of(r.resources, r.bad_resources, canonical);
}

json to_json(const version_entry& v) {
  return {
      {"id", v.id}, {"resource", v.resource}, {"version", v.version}, {"created_at", v.created_at}};
}

version_entry version_from_json(const json& j) {
  return {j.at("id").get<std::int64_t>(), j.at("resource").get<std::string>(), j.at("version"),
          j.at("created_at").get<std::string>()};
}

json to_json(const usage_entry& u) {
  return {{"job", u.job}, {"pending", u.pending}, {"passed", u.passed}, {"gets", u.gets}};
}

usage_entry usage_from_json(const json& j) {
  return {j.at("job").get<std::string>(), j.at("pending").get<bool>(), j.at("passed").get<bool>(),
          j.at("gets").get<std::map<std::string, std::int64_t>>()};
}

json to_json(const check_entry& c) {
  return {{"last_check_at", c.last_check_at ? json(*c.last_check_at) : json(nullptr)},
          {"check_error", c.check_error ? json(*c.check_error) : json(nullptr)}};
}

check_entry check_from_json(const json& j) {
  check_entry c;
  if (!j.is_object() || !j.value("last_check_at", json(nullptr)).is_string()) return c;
  c.last_check_at = j["last_check_at"].get<std::string>();
  if (j.value("check_error", json(nullptr)).is_string())
    c.check_error = j["check_error"].get<std::string>();
  return c;
}

}  // namespace pikoci::persistence
