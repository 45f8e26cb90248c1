#include "connectors/kafka/wire.hpp"

#include <climits>
#include <iterator>
#include <limits>
#include <optional>
#include <type_traits>

#include "config/pipeline/utf8.hpp"
#include "domain/json_depth.hpp"
#include "domain/text.hpp"
#include "domain/vocabulary.hpp"

namespace pikoci::wire {

namespace {

using json = nlohmann::json;
// Encoding keeps insertion order so "v" and "type" come first on the wire.
using ojson = nlohmann::ordered_json;
using millis = std::chrono::milliseconds;

constexpr const char* type_names[] = {
    "run_build",      "run_check", "cancel_build",  "drain",         "accepted",
    "step_started",   "log_chunk", "step_finished", "build_decided", "build_finished",
    "check_finished", "heartbeat", "recorded",      "probe"};
static_assert(std::size(type_names) == std::variant_size_v<message>);

// Durations beyond ~31 years are refused: a deadline computed from them would overflow
// steady_clock's nanoseconds.
constexpr std::int64_t max_duration_ms = 1'000'000'000'000;

constexpr const char* heartbeat_statuses[] = {"healthy", "draining"};

std::string dump(const ojson& j) {
  return hcl::to_json_text(j);
}

// ---- encoding

ojson enc_strings(const std::vector<std::string>& v) {
  ojson a = ojson::array();
  for (const auto& s : v) a.push_back(s);
  return a;
}

ojson enc_env(const work::env_map& m) {
  ojson o = ojson::object();
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

ojson enc_json(const json& j) {
  return ojson(j);
}

ojson enc_jsons(const std::vector<json>& v) {
  ojson a = ojson::array();
  for (const auto& j : v) a.push_back(enc_json(j));
  return a;
}


ojson enc(const work::step_ref& r) {
  ojson o = ojson::object();
  o["id"] = r.id;
  o["type"] = r.type;
  o["name"] = r.name;
  o["parent"] = r.parent;
  o["job_hook"] = r.job_hook;
  return o;
}

ojson enc(const work::step_result& r) {
  ojson o = ojson::object();
  o["status"] = domain::to_string(r.st);
  o["exports"] = enc_env(r.exports);
  o["versions"] = enc_jsons(r.versions);
  return o;
}

ojson enc(const work::build_result& r) {
  ojson o = ojson::object();
  o["status"] = domain::to_string(r.st);
  o["reason"] = r.reason;
  return o;
}

ojson enc(const work::check_result& r) {
  ojson o = ojson::object();
  o["versions"] = enc_jsons(r.versions);
  o["error"] = r.error ? ojson(*r.error) : ojson(nullptr);
  o["log"] = r.log;
  return o;
}

ojson build_head(std::int64_t build_id, int attempt) {
  ojson o = ojson::object();
  o["build_id"] = build_id;
  o["attempt"] = attempt;
  return o;
}

/// Written only when there is one: readers of the first format ignore it anyway.
void enc_reply(ojson& o, const std::optional<route>& r) {
  if (!r) return;
  ojson j = ojson::object();
  j["topic"] = r->topic;
  j["partition"] = r->partition;
  o["reply"] = std::move(j);
}

ojson enc_body(const run_build& m) {
  ojson o = build_head(m.build_id, m.attempt);
  o["tags"] = enc_strings(m.tags);
  o["plan"] = work::to_json(m.plan);
  enc_reply(o, m.reply);
  return o;
}

ojson enc_body(const run_check& m) {
  ojson o = ojson::object();
  o["sequence"] = m.sequence;
  o["resource"] = m.resource;
  o["tags"] = enc_strings(m.tags);
  o["command"] = work::to_json(m.command);
  o["timeout_ms"] = static_cast<std::int64_t>(m.timeout.count());
  if (!m.secrets.empty()) o["secrets"] = work::to_json(m.secrets);
  enc_reply(o, m.reply);
  return o;
}

ojson enc_body(const cancel_build& m) {
  ojson o = build_head(m.build_id, m.attempt);
  o["reason"] = m.reason;
  return o;
}

ojson enc_body(const drain& m) {
  ojson o = ojson::object();
  o["worker"] = m.worker;
  return o;
}

ojson enc_body(const accepted& m) {
  return build_head(m.build_id, m.attempt);
}

ojson enc_body(const step_started& m) {
  ojson o = build_head(m.build_id, m.attempt);
  o["step"] = enc(m.step);
  return o;
}

ojson enc_body(const log_chunk& m) {
  ojson o = build_head(m.build_id, m.attempt);
  o["step"] = enc(m.step);
  o["seq"] = m.seq;
  o["chunk"] = m.chunk;
  return o;
}

ojson enc_body(const step_finished& m) {
  ojson o = build_head(m.build_id, m.attempt);
  o["step"] = enc(m.step);
  o["result"] = enc(m.result);
  return o;
}

ojson enc_body(const build_decided& m) {
  ojson o = build_head(m.build_id, m.attempt);
  o["result"] = enc(m.result);
  return o;
}

ojson enc_body(const build_finished& m) {
  ojson o = build_head(m.build_id, m.attempt);
  o["result"] = enc(m.result);
  return o;
}

ojson enc_body(const check_finished& m) {
  ojson o = ojson::object();
  o["sequence"] = m.sequence;
  o["resource"] = m.resource;
  o["result"] = enc(m.result);
  return o;
}

ojson enc_body(const recorded& m) {
  return build_head(m.build_id, m.attempt);
}

ojson enc_body(const probe& m) {
  ojson o = ojson::object();
  o["server"] = m.server;
  o["seq"] = m.seq;
  return o;
}

ojson enc_body(const heartbeat& m) {
  ojson o = ojson::object();
  o["tags"] = enc_strings(m.tags);
  o["queues"] = enc_strings(m.queues);
  o["concurrency"] = m.concurrency;
  ojson running = ojson::array();
  for (const auto& [id, attempt] : m.running) running.push_back(build_head(id, attempt));
  o["running"] = std::move(running);
  o["status"] = m.status;
  ojson parts = ojson::array();
  for (const auto& [topic, partition] : m.partitions) {
    ojson p = ojson::object();
    p["topic"] = topic;
    p["partition"] = partition;
    parts.push_back(std::move(p));
  }
  o["partitions"] = std::move(parts);
  return o;
}

// ---- decoding

/// Untrusted text for error messages: quoted, and cut after 64 bytes.
std::string excerpt(std::string_view s) {
  constexpr std::size_t max = 64;
  return s.size() > max ? domain::quote(s.substr(0, max)) + "..." : domain::quote(s);
}

/// A value inside the message with its path ("body.plan.steps[2].kind") for error messages.
class in {
 public:
  in(const json& j, std::string path) : j_(j), path_(std::move(path)) {}

  [[noreturn]] void fail(const std::string& what) const {
    throw decode_error(path_.empty() ? what : path_ + ": " + what);
  }

  const json& value() const { return j_; }

  /// The member `key` of this object (which must be one); missing → error.
  in operator[](const char* key) const {
    const json& o = object();
    auto it = o.find(key);
    if (it == o.end()) throw decode_error(child(key) + ": missing");
    return in(*it, child(key));
  }

  /// The member `key`, or nothing when it is absent or null.
  std::optional<in> optional(const char* key) const {
    const json& o = object();
    auto it = o.find(key);
    if (it == o.end() || it->is_null()) return std::nullopt;
    return in(*it, child(key));
  }

  const json& object() const {
    if (!j_.is_object()) fail("expected object");
    return j_;
  }

  template <class F>
  void each(F&& f) const {
    if (!j_.is_array()) fail("expected array");
    for (std::size_t i = 0; i < j_.size(); ++i) f(in(j_[i], path_ + "[" + std::to_string(i) + "]"));
  }

  std::string str() const {
    if (!j_.is_string()) fail("expected string");
    return j_.get_ref<const std::string&>();
  }

  bool boolean() const {
    if (!j_.is_boolean()) fail("expected boolean");
    return j_.get<bool>();
  }

  std::int64_t integer(std::int64_t min, std::int64_t max) const {
    if (j_.is_number_unsigned()) {
      auto u = j_.get<std::uint64_t>();
      if (u > static_cast<std::uint64_t>(max)) out_of_range(min, max);
      auto v = static_cast<std::int64_t>(u);
      if (v < min) out_of_range(min, max);
      return v;
    }
    if (j_.is_number_integer()) {
      auto v = j_.get<std::int64_t>();
      if (v < min || v > max) out_of_range(min, max);
      return v;
    }
    fail("expected integer");
  }

  std::uint64_t uinteger() const {
    if (j_.is_number_unsigned()) return j_.get<std::uint64_t>();
    if (j_.is_number_integer()) out_of_range(0, -1);
    fail("expected integer");
  }

  int int32(int min) const { return static_cast<int>(integer(min, INT_MAX)); }

  millis duration() const { return millis(integer(0, max_duration_ms)); }

  /// A word of the vocabulary `parse` reads, and one `allowed` accepts here when given.
  template <class E>
  E enumerated(std::optional<E> (*parse)(std::string_view), bool (*allowed)(E) = nullptr) const {
    std::string s = str();
    auto v = parse(s);
    if (!v || (allowed != nullptr && !allowed(*v))) fail("unknown value " + excerpt(s));
    return *v;
  }

  std::vector<std::string> strings() const {
    std::vector<std::string> out;
    each([&](const in& e) { out.push_back(e.str()); });
    return out;
  }

  work::env_map env() const {
    work::env_map out;
    for (const auto& [k, v] : object().items()) {
      in e(v, path_ + "." + (k.size() > 64 ? k.substr(0, 64) + "..." : k));
      out.emplace(k, e.str());
    }
    return out;
  }

  std::vector<json> jsons() const {
    std::vector<json> out;
    each([&](const in& e) { out.push_back(e.value()); });
    return out;
  }

 private:
  std::string child(const char* key) const { return path_.empty() ? key : path_ + "." + key; }

  [[noreturn]] void out_of_range(std::int64_t min, std::int64_t max) const {
    std::string range = "expected integer >= " + std::to_string(min);
    if (max >= min) range += " and <= " + std::to_string(max);
    fail(range + ", got " + j_.dump());
  }

  const json& j_;
  std::string path_;
};

work::command_spec dec_command(const in& j) {
  work::command_spec c;
  in t = j["tmpl"];
  c.tmpl.path = t["path"].str();
  c.tmpl.args = t["args"].strings();
  c.params = j["params"].env();
  c.args = j["args"].strings();
  if (auto cache = j.optional("cache")) c.cache = cache->str();
  return c;
}

std::optional<work::command_spec> dec_opt_command(const in& parent, const char* key) {
  if (auto c = parent.optional(key)) return dec_command(*c);
  return std::nullopt;
}

std::optional<millis> dec_opt_ms(const in& parent, const char* key) {
  if (auto d = parent.optional(key)) return d->duration();
  return std::nullopt;
}

work::step_plan dec_step(const in& j);

work::secret_plan dec_secrets(const in& j) {
  work::secret_plan p;
  p.pipeline = j["pipeline"].str();
  j["variables"].each([&](const in& v) {
    p.variables.push_back({v["name"].str(), v["type"].str(), v["path"].str(), v["key"].str()});
  });
  j["types"].each([&](const in& t) {
    p.types.push_back({t["name"].str(), t["store"].boolean(), dec_opt_command(t, "get")});
  });
  return p;
}

work::secret_plan dec_opt_secrets(const in& parent) {
  if (auto s = parent.optional("secrets")) return dec_secrets(*s);
  return {};
}

work::hook_plan dec_hook(const in& j) {
  work::hook_plan h;
  h.kind = j["kind"].enumerated(pipeline::parse_hook_kind);
  h.name = j["name"].str();
  h.command = dec_opt_command(j, "command");
  j["steps"].each([&](const in& s) { h.steps.push_back(dec_step(s)); });
  return h;
}

work::branch_plan dec_branch(const in& j) {
  work::branch_plan b;
  b.kind = j["kind"].enumerated(work::parse_branch_kind);
  b.label = j["label"].str();
  b.condition = j["condition"].str();
  j["steps"].each([&](const in& s) { b.steps.push_back(dec_step(s)); });
  return b;
}

/// A conditional step is a chain the pipeline language can write: an `if`, then `else_if`s, then
/// at most one `else` (without a condition) at the end; no other step has branches.
void check_chain(const in& j, const work::step_plan& s) {
  if (s.kind != work::step_kind::if_chain) {
    if (!s.branches.empty())
      j.fail("branches on a step of kind " + excerpt(domain::to_string(s.kind)));
    return;
  }
  if (s.branches.empty() || s.branches.front().kind != work::branch_kind::if_)
    j.fail("a conditional step starts with an \"if\" branch");
  for (std::size_t i = 1; i < s.branches.size(); ++i) {
    const auto& b = s.branches[i];
    if (b.kind == work::branch_kind::if_ ||
        (b.kind == work::branch_kind::else_ && i + 1 != s.branches.size()))
      j.fail("branch " + std::to_string(i) + " (" + work::to_string(b.kind) +
             ") is out of place in a conditional step");
    if (b.kind == work::branch_kind::else_ && !b.condition.empty())
      j.fail("an \"else\" branch has no condition");
  }
}

work::step_plan dec_step(const in& j) {
  work::step_plan s;
  s.kind = j["kind"].enumerated(domain::parse_step_kind, domain::is_plan_step);
  s.name = j["name"].str();
  s.command = dec_opt_command(j, "command");
  s.timeout = dec_opt_ms(j, "timeout_ms");
  s.attempts = j["attempts"].int32(0);
  s.inputs = j["inputs"].strings();
  s.outputs = j["outputs"].strings();
  s.version = j["version"].value();
  j["hooks"].each([&](const in& h) { s.hooks.push_back(dec_hook(h)); });
  j["children"].each([&](const in& c) { s.children.push_back(dec_step(c)); });
  s.limit = j["limit"].int32(0);
  s.fail_fast = j["fail_fast"].boolean();
  // absent in plans of servers that had no conditional steps
  if (auto branches = j.optional("branches"))
    branches->each([&](const in& b) { s.branches.push_back(dec_branch(b)); });
  check_chain(j, s);
  return s;
}

work::service_plan dec_service(const in& j) {
  work::service_plan s;
  s.name = j["name"].str();
  s.start = dec_command(j["start"]);
  s.ready = dec_opt_command(j, "ready");
  s.interval = j["interval_ms"].duration();
  s.timeout = j["timeout_ms"].duration();
  s.stop = dec_opt_command(j, "stop");
  return s;
}

std::int64_t dec_build_id(const in& j) {
  return j["build_id"].integer(1, std::numeric_limits<std::int64_t>::max());
}

work::build_plan dec_plan(const in& j) {
  work::build_plan p;
  p.build_id = dec_build_id(j);
  p.attempt = j["attempt"].int32(1);
  p.pipeline = j["pipeline"].str();
  p.job = j["job"].str();
  p.number = j["number"].str();
  j["services"].each([&](const in& s) { p.services.push_back(dec_service(s)); });
  j["steps"].each([&](const in& s) { p.steps.push_back(dec_step(s)); });
  j["job_hooks"].each([&](const in& h) { p.job_hooks.push_back(dec_hook(h)); });
  p.timeout = dec_opt_ms(j, "timeout_ms");
  p.env = j["env"].env();
  p.secrets = dec_opt_secrets(j);
  return p;
}

work::step_ref dec_step_ref(const in& j) {
  work::step_ref r;
  r.id = j["id"].str();
  r.type = j["type"].str();
  r.name = j["name"].str();
  r.parent = j["parent"].str();
  r.job_hook = j["job_hook"].boolean();
  return r;
}

/// What a step record can end with: a run's outcome, or `skipped` (a branch not taken).
bool is_step_outcome(domain::build_status st) {
  return domain::is_run_outcome(st) || st == domain::build_status::skipped;
}

work::step_result dec_step_result(const in& j) {
  work::step_result r;
  r.st = j["status"].enumerated(domain::parse_build_status, is_step_outcome);
  r.exports = j["exports"].env();
  r.versions = j["versions"].jsons();
  return r;
}

work::build_result dec_build_result(const in& j) {
  work::build_result r;
  r.st = j["status"].enumerated(domain::parse_build_status, domain::is_run_outcome);
  r.reason = j["reason"].str();
  return r;
}

work::check_result dec_check_result(const in& j) {
  work::check_result r;
  r.versions = j["versions"].jsons();
  if (auto e = j.optional("error")) r.error = e->str();
  r.log = j["log"].str();
  return r;
}

std::int64_t dec_sequence(const in& j) {
  return j["sequence"].integer(0, std::numeric_limits<std::int64_t>::max());
}

/// A reply names a topic the worker will produce to: refused unless it is a plain topic name.
std::optional<route> dec_opt_reply(const in& parent) {
  auto r = parent.optional("reply");
  if (!r) return std::nullopt;
  route out;
  in topic = (*r)["topic"];
  out.topic = topic.str();
  if (auto why = check_topic_name(out.topic); !why.empty()) topic.fail(why);
  out.partition = static_cast<int>((*r)["partition"].integer(0, max_reply_partition));
  return out;
}

template <class M>
void dec_build_head(const in& j, M& m) {
  m.build_id = dec_build_id(j);
  m.attempt = j["attempt"].int32(1);
}

message dec_body(std::size_t type, const in& j) {
  switch (type) {
    case 0: {
      run_build m;
      dec_build_head(j, m);
      m.tags = j["tags"].strings();
      m.plan = dec_plan(j["plan"]);
      m.reply = dec_opt_reply(j);
      return m;
    }
    case 1: {
      run_check m;
      m.sequence = dec_sequence(j);
      m.resource = j["resource"].str();
      m.tags = j["tags"].strings();
      m.command = dec_command(j["command"]);
      m.timeout = j["timeout_ms"].duration();
      m.secrets = dec_opt_secrets(j);
      m.reply = dec_opt_reply(j);
      return m;
    }
    case 2: {
      cancel_build m;
      dec_build_head(j, m);
      m.reason = j["reason"].str();
      return m;
    }
    case 3:
      return drain{j["worker"].str()};
    case 4: {
      accepted m;
      dec_build_head(j, m);
      return m;
    }
    case 5: {
      step_started m;
      dec_build_head(j, m);
      m.step = dec_step_ref(j["step"]);
      return m;
    }
    case 6: {
      log_chunk m;
      dec_build_head(j, m);
      m.step = dec_step_ref(j["step"]);
      m.seq = j["seq"].uinteger();
      m.chunk = j["chunk"].str();
      return m;
    }
    case 7: {
      step_finished m;
      dec_build_head(j, m);
      m.step = dec_step_ref(j["step"]);
      m.result = dec_step_result(j["result"]);
      return m;
    }
    case 8: {
      build_decided m;
      dec_build_head(j, m);
      m.result = dec_build_result(j["result"]);
      return m;
    }
    case 9: {
      build_finished m;
      dec_build_head(j, m);
      m.result = dec_build_result(j["result"]);
      return m;
    }
    case 10: {
      check_finished m;
      m.sequence = dec_sequence(j);
      m.resource = j["resource"].str();
      m.result = dec_check_result(j["result"]);
      return m;
    }
    case 12: {
      recorded m;
      dec_build_head(j, m);
      return m;
    }
    case 13:
      return probe{j["server"].str(), j["seq"].uinteger()};
    default: {
      heartbeat m;
      m.tags = j["tags"].strings();
      m.queues = j["queues"].strings();
      m.concurrency = j["concurrency"].int32(1);
      j["running"].each([&](const in& r) {
        auto id = dec_build_id(r);
        m.running.emplace_back(id, r["attempt"].int32(1));
      });
      in st = j["status"];
      m.status = st.str();
      bool known = false;
      for (const char* s : heartbeat_statuses) known = known || m.status == s;
      if (!known) st.fail("unknown value " + excerpt(m.status));
      if (auto parts = j.optional("partitions"))
        parts->each([&](const in& p) {
          m.partitions.emplace_back(p["topic"].str(), p["partition"].int32(0));
        });
      return m;
    }
  }
}

envelope decode_checked(std::string_view text) {
  if (text.size() > max_message_bytes)
    throw decode_error("message of " + std::to_string(text.size()) +
                       " bytes exceeds the limit of " + std::to_string(max_message_bytes));
  // refused before the parser builds (and recurses into) it
  if (domain::json_depth(text) > max_depth)
    throw decode_error("JSON nested deeper than " + std::to_string(max_depth) + " levels");
  json doc;
  try {
    doc = json::parse(text.begin(), text.end());
  } catch (const json::exception& e) {
    std::string what = e.what();
    if (what.size() > 200) what = what.substr(0, 200) + "...";
    throw decode_error("not JSON: " + what);
  }
  if (!doc.is_object()) throw decode_error("message is not a JSON object");
  in root(doc, "");

  in v = root["v"];
  if (!v.value().is_number_integer()) v.fail("expected integer");
  if (!v.value().is_number_unsigned() || v.value().get<std::uint64_t>() != version)
    v.fail("unsupported wire format version " + v.value().dump() + " (this node reads version " +
           std::to_string(version) + ")");

  in type = root["type"];
  std::string name = type.str();
  std::size_t index = std::size(type_names);
  for (std::size_t i = 0; i < std::size(type_names); ++i)
    if (name == type_names[i]) index = i;
  if (index == std::size(type_names)) type.fail("unknown message type " + excerpt(name));

  envelope e{root["worker"].str(), root["token"].str(),
             root["sent_at_ms"].integer(0, std::numeric_limits<std::int64_t>::max()),
             dec_body(index, root["body"])};
  return e;
}

}  // namespace

std::string check_topic_name(std::string_view name) {
  if (name.empty()) return "empty topic name";
  if (name.size() > max_topic_length)
    return "topic name of " + std::to_string(name.size()) + " bytes (at most " +
           std::to_string(max_topic_length) + ")";
  if (name == "." || name == "..") return "topic name " + excerpt(name) + " is not allowed";
  for (char c : name) {
    bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '.' || c == '_' || c == '-';
    if (!ok) return "topic name " + excerpt(name) + " has characters other than A-Z a-z 0-9 . _ -";
  }
  return "";
}

std::string encode(const envelope& e) {
  ojson o = ojson::object();
  o["v"] = version;
  o["type"] = type_name(e.body);
  o["worker"] = e.worker;
  o["token"] = e.token;
  o["sent_at_ms"] = e.sent_at_ms;
  o["body"] = std::visit([](const auto& m) { return enc_body(m); }, e.body);
  return dump(o);
}

envelope decode(std::string_view text) {
  try {
    return decode_checked(text);
  } catch (const decode_error&) {
    throw;
  } catch (const std::exception& e) {
    // Defensive: nothing below should throw anything else, but callers rely on the contract.
    throw decode_error(std::string("invalid message: ") + e.what());
  }
}

std::int64_t now_ms() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

envelope stamped(std::string worker, std::string token, message body) {
  return envelope{std::move(worker), std::move(token), now_ms(), std::move(body)};
}

const char* type_name(const message& m) {
  return type_names[m.index()];
}

std::string key_of(const message& m) {
  return std::visit(
      [](const auto& b) -> std::string {
        using T = std::decay_t<decltype(b)>;
        if constexpr (std::is_same_v<T, run_check> || std::is_same_v<T, check_finished>)
          return "check:" + std::to_string(b.sequence);
        else if constexpr (std::is_same_v<T, drain> || std::is_same_v<T, heartbeat> ||
                           std::is_same_v<T, probe>)
          return "";
        else
          return std::to_string(b.build_id);
      },
      m);
}

}  // namespace pikoci::wire
