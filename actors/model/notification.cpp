#include "actors/model/notification.hpp"

#include <algorithm>
#include <cctype>
#include <cmath>

#include "actors/model/step_protocol.hpp"
#include "config/pipeline/utf8.hpp"

namespace pikoci::model {

using nlohmann::json;

const char* to_string(delivery_status s) {
  switch (s) {
    case delivery_status::pending:
      return "pending";
    case delivery_status::delivered:
      return "delivered";
    case delivery_status::failed:
      return "failed";
  }
  return "pending";
}

std::optional<delivery_status> parse_delivery_status(const std::string& s) {
  for (auto st : {delivery_status::pending, delivery_status::delivered, delivery_status::failed})
    if (s == to_string(st)) return st;
  return std::nullopt;
}

bool is_builtin_delivery(const std::string& kind) {
  return kind == "http" || kind == "slack" || kind == "discord";
}

namespace {

json time_or_null(const std::optional<time_point>& t) {
  return t ? json(format_time(*t)) : json(nullptr);
}

std::optional<time_point> time_from(const json& j, const char* key) {
  if (!j.contains(key) || j[key].is_null()) return std::nullopt;
  return parse_time(j[key].get<std::string>());
}

bool name_char(char c, bool first) {
  return c == '_' || std::isalpha(static_cast<unsigned char>(c)) ||
         (!first && std::isdigit(static_cast<unsigned char>(c)));
}

/// `url` with its scheme, host and port taken from `base` (path and query kept).
std::string rebase(const std::string& url, const std::string& base) {
  auto authority_end = [](const std::string& u) {
    auto scheme = u.find("://");
    auto from = scheme == std::string::npos ? 0 : scheme + 3;
    auto slash = u.find('/', from);
    return slash == std::string::npos ? u.size() : slash;
  };
  std::string b = base;
  while (!b.empty() && b.back() == '/') b.pop_back();
  return b + url.substr(authority_end(url));
}

/// Fills in where `m` goes and what it says, by its kind: `http` POSTs `http` to param `url`;
/// `slack` {"text"} and `discord` {"content"} to param `webhook_url`; a `base_url` param replaces
/// the scheme, host and port. A message without a usable URL becomes `failed` with the reason.
void address(notification_message& m, const pipeline::notification& n, const std::string& text,
             json http) {
  auto param = [&](const char* k) {
    auto it = n.params.find(k);
    return it == n.params.end() ? std::string() : it->second;
  };
  std::string url_param = m.kind == "http" ? "url" : "webhook_url";
  m.url = param(url_param.c_str());
  json body;
  if (m.kind == "slack") {
    body = {{"text", text}};
  } else if (m.kind == "discord") {
    body = {{"content", text}};
  } else {
    body = std::move(http);
  }
  m.body = hcl::to_json_text(body);
  auto give_up = [&](std::string why) {
    m.status = delivery_status::failed;
    m.next_attempt_at.reset();
    m.last_error = std::move(why);
  };
  if (m.url.empty())
    return give_up("notification \"" + n.canonical + "\" has no " + url_param + " param");
  auto base = param("base_url");
  if (!base.empty()) m.url = rebase(m.url, base);
  // refused by validate (secrets are resolved on workers only); kept for stored pipelines
  // loaded before that rule: the server never sends a placeholder
  if (m.url.find("__pikoci_secret:") != std::string::npos)
    give_up("notification \"" + n.canonical +
            "\": the server does not resolve secret-backed params of built-in types");
}

}  // namespace

json notification_message::to_json() const {
  return {{"id", id},
          {"pipeline", pipeline},
          {"job", job},
          {"build_id", build_id},
          {"build_number", build_number},
          {"notification", notification},
          {"kind", kind},
          {"status", to_string(status)},
          {"attempts", attempts},
          {"last_error", last_error.empty() ? json(nullptr) : json(last_error)},
          {"created_at", format_time(created_at)},
          {"next_attempt_at",
           status == delivery_status::pending ? time_or_null(next_attempt_at) : json(nullptr)},
          {"delivered_at", time_or_null(delivered_at)}};
}

std::string notification_message::to_record() const {
  auto j = to_json();
  j["type"] = "notification";
  j["v"] = 1;
  j["url"] = url;
  j["body"] = body;
  j["last_error"] = last_error;
  j["next_attempt_at"] = time_or_null(next_attempt_at);
  return hcl::to_json_text(j);
}

notification_message notification_message::from_record(std::string_view text) {
  auto j = json::parse(text);
  if (j.value("type", "") != "notification") throw std::invalid_argument("not a notification");
  notification_message m;
  m.id = j.at("id").get<std::string>();
  m.pipeline = j.value("pipeline", "");
  m.job = j.value("job", "");
  m.build_id = j.value("build_id", std::int64_t{0});
  m.build_number = j.value("build_number", "");
  m.notification = j.value("notification", "");
  m.kind = j.value("kind", "http");
  m.url = j.value("url", "");
  m.body = j.value("body", "");
  m.created_at = parse_time(j.at("created_at").get<std::string>());
  m.attempts = j.value("attempts", 0);
  m.next_attempt_at = time_from(j, "next_attempt_at");
  m.delivered_at = time_from(j, "delivered_at");
  m.last_error = j.value("last_error", "");
  auto st = parse_delivery_status(j.value("status", "pending"));
  if (!st) throw std::invalid_argument("unknown delivery status");
  m.status = *st;
  return m;
}

std::string event_of(build_status s) {
  switch (s) {
    case build_status::succeeded:
      return "success";
    case build_status::failed:
    case build_status::warning:
    case build_status::errored:
      return "failure";
    case build_status::cancelled:
      return "cancel";
    default:
      return "";
  }
}

bool fires(const pipeline::notification& n, const std::string& job, const std::string& event) {
  if (event.empty() || n.on.empty()) return false;
  auto has = [](const std::vector<std::string>& v, const std::string& x) {
    return std::find(v.begin(), v.end(), x) != v.end();
  };
  if (!has(n.on, "all") && !has(n.on, event)) return false;
  if (!n.jobs.empty()) return has(n.jobs_expanded, job) || has(n.jobs, job);
  if (!n.exclude.empty()) return !has(n.exclude_expanded, job) && !has(n.exclude, job);
  return true;
}

std::string literal_newlines(std::string_view text) {
  std::string out;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 1 < text.size() && text[i + 1] == 'n') {
      out += '\n';
      ++i;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string expand_message(std::string_view text, const std::map<std::string, std::string>& env) {
  auto in = literal_newlines(text);
  std::string out;
  for (std::size_t i = 0; i < in.size(); ++i) {
    if (in[i] != '$' || i + 1 >= in.size()) {
      out += in[i];
      continue;
    }
    std::string name;
    std::size_t end = i + 1;
    if (in[end] == '{') {
      auto close = in.find('}', end);
      if (close == std::string::npos) {
        out += in[i];
        continue;
      }
      name = in.substr(end + 1, close - end - 1);
      end = close + 1;
    } else {
      while (end < in.size() && name_char(in[end], end == i + 1)) ++end;
      name = in.substr(i + 1, end - i - 1);
    }
    if (name.empty()) {
      out += in[i];
      continue;
    }
    if (auto it = env.find(name); it != env.end()) out += it->second;
    i = end - 1;
  }
  return out;
}

std::map<std::string, std::string> message_env(const build_record& b) {
  std::map<std::string, std::string> env{
      {"BUILD_NUMBER", b.number},          {"BUILD_JOB_NAME", b.job},
      {"BUILD_PIPELINE_NAME", b.pipeline}, {"BUILD_TEAM_NAME", "main"},
      {"BUILD_ID", std::to_string(b.id)},  {"BUILD_STATUS", to_string(b.status)},
      {"BUILD_REASON", b.reason},          {"notify_build_status", to_string(b.status)}};
  for (const auto& [k, v] : b.input_values) env["INPUT_" + k] = v;
  for (const auto& in : b.inputs)
    for (auto& [k, v] : work::get_exports(in.name, in.version)) env[k] = v;
  return env;
}

std::string default_message(const build_record& b) {
  std::string text =
      "Build " + b.pipeline + "/" + b.job + " #" + b.number + " " + to_string(b.status);
  if (!b.reason.empty()) text += ": " + b.reason;
  return text;
}

namespace {
/// A message due now, not yet tied to a build.
notification_message new_message(std::string id, const std::string& pipeline,
                                 const std::string& job, const std::string& canonical,
                                 const std::string& kind, time_point now) {
  notification_message m;
  m.id = std::move(id);
  m.pipeline = pipeline;
  m.job = job;
  m.notification = canonical;
  m.kind = kind;
  m.created_at = now;
  m.next_attempt_at = now;
  return m;
}
}  // namespace

notification_message render(const pipeline::notification& n, const std::string& kind,
                            const build_record& b, const std::string& event,
                            const std::optional<std::string>& message, time_point now,
                            const std::string& id,
                            const std::map<std::string, std::string>& step_params) {
  auto m = new_message(!id.empty() ? id : "n-" + std::to_string(b.id) + "-" + n.canonical,
                       b.pipeline, b.job, n.canonical, kind, now);
  m.build_id = b.id;
  m.build_number = b.number;
  auto env = message_env(b);
  auto text = message ? expand_message(*message, env) : default_message(b);
  json http{
      {"id", m.id},
      {"pipeline", b.pipeline},
      {"job", b.job},
      {"build",
       {{"id", b.id}, {"number", b.number}, {"status", to_string(b.status)}, {"reason", b.reason}}},
      {"notification", n.canonical},
      {"event", event},
      {"status", to_string(b.status)},
      {"message", text}};
  if (!step_params.empty()) http["params"] = step_params;
  address(m, n, text, std::move(http));
  return m;
}

std::map<std::string, std::string> trigger_env(
    const trigger_event& t, const std::map<std::string, std::string>& step_params) {
  std::map<std::string, std::string> env{{"BUILD_NUMBER", ""},
                                         {"BUILD_JOB_NAME", t.job},
                                         {"BUILD_PIPELINE_NAME", t.pipeline},
                                         {"BUILD_TEAM_NAME", "main"}};
  for (auto& [k, v] : work::version_env(t.version)) env[k] = v;
  for (const auto& [k, v] : step_params) env["notify_" + k] = v;
  return env;
}

notification_message render_trigger(const pipeline::notification& n, const std::string& kind,
                                    const trigger_event& t, const pipeline::step& step,
                                    std::size_t index, time_point now) {
  auto m = new_message("t-" + t.resource + "-" + std::to_string(t.version_id) + "-" + t.job + "-" +
                           std::to_string(index),
                       t.pipeline, t.job, n.canonical, kind, now);
  auto message = step.message ? step.message : n.message;
  auto text = message ? expand_message(*message, trigger_env(t, step.params))
                      : "Version " + std::to_string(t.version_id) + " of " + t.resource +
                            " triggers " + t.pipeline + "/" + t.job;
  json http{{"id", m.id},
            {"pipeline", t.pipeline},
            {"job", t.job},
            {"build", nullptr},
            {"notification", n.canonical},
            {"event", "trigger"},
            {"status", ""},
            {"message", text},
            {"params", step.params},
            {"trigger",
             {{"resource", t.resource}, {"version_id", t.version_id}, {"version", t.version}}}};
  address(m, n, text, std::move(http));
  return m;
}

std::string delivery_kind(const pipeline::pipeline_config& cfg, const std::string& type) {
  const auto* t = cfg.find_notification_type(type);
  if (t == nullptr) return is_builtin_delivery(type) ? type : std::string();
  if (t->notify) return "";
  return t->delivery;
}

std::vector<notification_message> automatic_notifications(const pipeline::pipeline_config& cfg,
                                                          const build_record& b, time_point now) {
  std::vector<notification_message> out;
  auto event = event_of(b.status);
  if (event.empty()) return out;
  for (const auto& n : cfg.notifications) {
    if (!fires(n, b.job, event)) continue;
    auto kind = delivery_kind(cfg, n.type);
    if (kind.empty()) continue;  // sent by a notify command (not automatic on this node yet)
    out.push_back(render(n, kind, b, event, n.message, now));
  }
  return out;
}

std::chrono::milliseconds backoff_policy::ceiling(int attempts) const {
  double ms = static_cast<double>(base.count()) * std::pow(factor, std::max(0, attempts - 1));
  if (!(ms < static_cast<double>(cap.count()))) return cap;  // also catches inf
  return std::chrono::milliseconds(static_cast<std::int64_t>(ms));
}

std::chrono::milliseconds backoff_policy::delay(int attempts, std::mt19937_64& rng) const {
  auto top = std::max<std::int64_t>(1, ceiling(attempts).count());
  std::uniform_int_distribution<std::int64_t> pick(1, top);
  return std::chrono::milliseconds(pick(rng));
}

}  // namespace pikoci::model
