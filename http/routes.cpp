#include "http/routes.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <map>
#include <optional>
#include <set>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <type_traits>
#include <variant>

#include <spdlog/spdlog.h>

#include "actors/model/notification.hpp"
#include "build_info.hpp"
#include "config/pipeline/json_decode.hpp"
#include "config/pipeline/names.hpp"
#include "config/pipeline/utf8.hpp"
#include "domain/metrics.hpp"
#include "http/cluster.hpp"
#include "http/cluster_merge.hpp"
#include "http/cluster_route.hpp"
#include "http/errors.hpp"
#include "http/ui.hpp"

namespace pikoci::http {
namespace {
using nlohmann::json;


/// The route pattern a path belongs to ("/api/v1/pipelines/:p/jobs/:j"), so request counters
/// have few labels; "other" for paths no route has.
std::string route_of(std::string_view path);

/// HTTP requests answered, by method, route and status (GET /metrics).
class request_counter {
 public:
  void count(std::string method, std::string route, int status) {
    std::lock_guard<std::mutex> lock(mu_);
    ++counts_[{std::move(method), std::move(route), status}];
  }
  std::string text() {
    domain::metrics out;
    auto& answered = out.add_counter("pikoci_http_requests_total",
                                     "HTTP requests answered, by method, route and code.");
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& [k, n] : counts_) {
      const auto& [method, route, code] = k;
      answered.add({{"method", method}, {"route", route}, {"code", std::to_string(code)}}, n);
    }
    return out.render();
  }

 private:
  std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> counts_;
};

request_counter& requests() {
  static request_counter c;
  return c;
}

void write(const request_t& req, const response& r) {
  requests().count(std::string(req->header().method().c_str()), route_of(req->header().path()),
                   r.status);
  auto resp = req->create_response(restinio::http_status_line_t{
      restinio::http_status_code_t{static_cast<std::uint16_t>(r.status)}, ""});
  for (const auto& [k, v] : r.headers) resp.append_header(k, v);
  if (!r.raw.empty()) {
    resp.set_body(r.raw);
  } else if (!r.body.is_null()) {
    resp.append_header(restinio::http_field::content_type, "application/json");
    resp.set_body(hcl::to_json_text(r.body) + "\n");
  }
  resp.done();
}

/// One Server-Sent Events subscriber: a chunked response on its connection. Events go out as
/// they are pushed, from any thread, without waiting for the socket; the bytes handed to the
/// connection and not yet written are counted, and a subscriber more than `max_pending` behind
/// is cut off (its response ends; it may reconnect: the build's events are replayed).
/// What is pushed before the node accepted the subscription (`opened`) is the replay of what
/// happened so far: it is counted apart, against `max_replay` per subscriber and
/// `max_replay_total` across all of them, so a long build's replay is not mistaken for a reader
/// falling behind, and memory stays bounded.
class sse_stream final : public proto::event_sink {
 public:
  static constexpr std::size_t max_pending = 8 * 1024 * 1024;
  static constexpr std::size_t max_replay = 64 * 1024 * 1024;
  static constexpr std::size_t max_replay_total = 256 * 1024 * 1024;

  explicit sse_stream(request_t req) : req_(std::move(req)) {}
  ~sse_stream() override { close(); }

  bool push(const std::string& type, const std::string& data, const std::string& id) override {
    // an id is one line of text (the node makes them; a newline would end the field)
    if (id.empty() || id.find_first_of("\r\n") != std::string::npos)
      return send("event: " + type + "\ndata: " + data + "\n\n");
    return send("id: " + id + "\nevent: " + type + "\ndata: " + data + "\n\n");
  }
  void close() override {
    std::lock_guard<std::mutex> lock(mu_);
    end();
  }
  bool gone() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return done_ || flow_->broken;
  }
  /// The node accepted the subscription: headers go out now if no event did.
  void opened() {
    requests().count("GET", route_of(req_->header().path()), 200);
    {
      std::lock_guard<std::mutex> lock(mu_);
      replaying_ = false;
    }
    send(": stream open\n\n");
  }
  /// A comment line: keeps an idle stream (and any proxy) from timing out and finds subscribers
  /// that are gone. False once the stream is over.
  bool ping() { return send(": ping\n\n"); }

 private:
  struct flow {
    std::atomic<std::size_t> pending{0};  // live bytes not written yet
    std::atomic<std::size_t> replay{0};   // replay bytes not written yet
    std::atomic<bool> broken{false};
  };
  using builder_t = restinio::response_builder_t<restinio::chunked_output_t>;

  /// Replay bytes of every subscriber not written yet.
  static std::atomic<std::size_t>& replay_total() {
    static std::atomic<std::size_t> total{0};
    return total;
  }

  bool send(std::string text) {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) return false;
    if (flow_->broken) {
      end();
      return false;
    }
    auto size = text.size();
    bool replay = replaying_;
    if (replay ? flow_->replay + size > max_replay || replay_total() + size > max_replay_total
               : flow_->pending + size > max_pending) {
      spdlog::warn("event=sse.cut_off path={} pending_bytes={} replay_bytes={}",
                   req_->header().path(), flow_->pending.load(), flow_->replay.load());
      start().append_chunk(replay ? ": cut off: the replay is larger than the server buffers\n\n"
                                  : ": cut off: the subscriber fell too far behind\n\n");
      end();
      return false;
    }
    (replay ? flow_->replay : flow_->pending) += size;
    if (replay) replay_total() += size;
    start().append_chunk(std::move(text));
    resp_->flush([f = flow_, size, replay](const asio::error_code& ec) {
      if (replay) {
        f->replay -= size;
        replay_total() -= size;
      } else {
        f->pending -= size;
      }
      if (ec) f->broken = true;
    });
    return true;
  }
  builder_t& start() {
    if (!resp_) {
      resp_.emplace(req_->create_response<restinio::chunked_output_t>());
      resp_->append_header(restinio::http_field::content_type, "text/event-stream");
      resp_->append_header(restinio::http_field::cache_control, "no-cache");
      resp_->append_header("X-Accel-Buffering", "no");
      // a browser's EventSource reconnects after half a second (not its default 3 s), so a
      // stream cut by a node stopping or a partition moving resumes quickly on another node
      resp_->append_chunk("retry: 500\n\n");
    }
    return *resp_;
  }
  void end() {
    if (done_) return;
    done_ = true;
    if (resp_) resp_->done();
  }

  request_t req_;
  mutable std::mutex mu_;
  std::optional<builder_t> resp_;
  bool done_ = false;
  bool replaying_ = true;  // until opened()
  std::shared_ptr<flow> flow_ = std::make_shared<flow>();
};

handling_t reply(const request_t& req, const response& r) {
  write(req, r);
  return restinio::request_accepted();
}

handling_t reply_error(const request_t& req, errc e, const std::string& message) {
  return reply(req, failure(e, message));
}

std::int64_t unix_now() {
  using namespace std::chrono;
  return duration_cast<seconds>(system_clock::now().time_since_epoch()).count();
}

/// A route's parsed input: path parameters, the query, the JSON body (an object, `{}` when
/// empty) and who asks.
struct input {
  const params_t& params;
  restinio::query_string_params_t query;
  json body;
  auth::claims who;
  std::function<proto::event_sink_ptr()> open_stream;  // for the SSE routes
  std::string token;                                   // the token `who` comes from (user routes)
  /// SSE routes: the id of the last event the client got (`Last-Event-ID`, or the query's
  /// `last_event_id` for clients that cannot set headers); "" when none.
  std::string last_event_id;
  /// A path parameter, percent-decoded: the one place names from paths are decoded (the gate
  /// already refused paths that are not percent-encoded UTF-8).
  std::string param(const char* name) const {
    auto raw = params[name];
    return pipeline::percent_decode(raw).value_or(std::string(raw));
  }
};

/// What a route makes of its input: an operation for the node, or an answer right away (400).
template <class Op>
using parsed = std::variant<Op, response>;

response bad(const std::string& message) {
  return failure(errc::bad_request, message);
}

/// `limit` (default 50, 0 = all).
std::optional<std::size_t> limit_of(const input& in, std::string& error) {
  if (!in.query.has("limit")) return 50;
  auto text = std::string(in.query["limit"]);
  std::size_t n = 0;
  if (text.empty() || text.size() > 9) {
    error = "limit must be a non-negative integer";
    return std::nullopt;
  }
  for (char c : text) {
    if (c < '0' || c > '9') {
      error = "limit must be a non-negative integer";
      return std::nullopt;
    }
    n = n * 10 + static_cast<std::size_t>(c - '0');
  }
  return n;
}

/// `status=a,b` of build lists.
std::optional<std::set<model::build_status>> statuses_of(const input& in, std::string& error) {
  std::set<model::build_status> out;
  if (!in.query.has("status")) return out;
  std::string text(in.query["status"]);
  std::size_t start = 0;
  while (start <= text.size()) {
    auto comma = text.find(',', start);
    auto word = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!word.empty()) {
      auto s = model::parse_build_status(word);
      if (!s) {
        error = "unknown build status \"" + word + "\"";
        return std::nullopt;
      }
      out.insert(*s);
    }
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

parsed<proto::list_builds> list_builds(const input& in, std::string pipeline, std::string job) {
  std::string error;
  auto limit = limit_of(in, error);
  auto statuses = statuses_of(in, error);
  if (!limit || !statuses) return bad(error);
  return proto::list_builds{std::move(pipeline), std::move(job), std::move(*statuses), *limit};
}

/// Limits of a trigger's `inputs` and `args`: builds keep them (store, lists, templates).
constexpr std::size_t max_trigger_items = 64;         // inputs, and args: 400 beyond
constexpr std::size_t max_trigger_bytes = 64 * 1024;  // names and values together: 413
constexpr std::size_t max_trigger_name_bytes = 128;   // an input's name: 400 beyond

/// A map of strings from a JSON object field (`inputs`), or the reason it is not one.
std::optional<std::map<std::string, std::string>> string_map(const json& body, const char* field,
                                                             std::string& error) {
  std::map<std::string, std::string> out;
  if (!body.contains(field)) return out;
  const auto& v = body[field];
  if (!v.is_object()) {
    error = std::string(field) + " must be an object";
    return std::nullopt;
  }
  auto text = [](const json& x, std::string& out) {
    if (x.is_string()) {
      out = x.get<std::string>();
    } else if (x.is_number() || x.is_boolean()) {
      out = x.dump();
    } else {
      return false;
    }
    return true;
  };
  for (const auto& [k, x] : v.items()) {
    if (text(x, out[k])) continue;
    // a list (for `multiple` inputs) is its items comma-separated, as the client gives them
    bool list = x.is_array() && !x.empty();
    for (std::size_t i = 0; list && i < x.size(); ++i) {
      std::string item;
      list = text(x[i], item);
      out[k] += (i == 0 ? "" : ",") + item;
    }
    if (!list) {
      error = std::string(field) + "." + k + " must be a string, number, bool or a list of them";
      return std::nullopt;
    }
  }
  return out;
}

parsed<proto::trigger_job> trigger_job(const input& in) {
  std::string error;
  auto inputs = string_map(in.body, "inputs", error);
  if (!inputs) return bad(error);
  std::vector<std::string> args;
  if (in.body.contains("args")) {
    if (!in.body["args"].is_array()) return bad("args must be an array of strings");
    for (const auto& a : in.body["args"]) {
      if (!a.is_string()) return bad("args must be an array of strings");
      args.push_back(a.get<std::string>());
    }
  }
  if (inputs->size() > max_trigger_items || args.size() > max_trigger_items)
    return bad("at most " + std::to_string(max_trigger_items) + " inputs and " +
               std::to_string(max_trigger_items) + " args");
  std::size_t bytes = 0;
  for (const auto& [k, v] : *inputs) {
    if (k.size() > max_trigger_name_bytes)
      return bad("input names are at most " + std::to_string(max_trigger_name_bytes) + " bytes");
    bytes += k.size() + v.size();
  }
  for (const auto& a : args) bytes += a.size();
  if (bytes > max_trigger_bytes)
    return failure(
        errc::payload_too_large,
        "inputs and args are larger than " + std::to_string(max_trigger_bytes) + " bytes together");
  return proto::trigger_job{in.param("p"), in.param("j"), std::move(*inputs), std::move(args),
                            in.who.subject};
}

/// The 400 answer for a pipeline name outside the name rule; none when it is valid.
std::optional<response> bad_pipeline_name(const std::string& name) {
  if (pipeline::is_valid_name(name)) return std::nullopt;
  return bad("invalid pipeline name " + hcl::to_json_text(json(name)) + ": " + pipeline::name_rule);
}

/// `config` and `vars` of a body holding pipeline text (PUT /pipelines/{p}, POST /validate), or
/// the 400 answer.
std::variant<std::pair<std::string, json>, response> pipeline_text(const input& in) {
  if (!in.body.contains("config") || !in.body["config"].is_string())
    return bad("config must be a string holding the pipeline's HCL");
  json vars = json::object();
  if (in.body.contains("vars")) {
    if (!in.body["vars"].is_object()) return bad("vars must be an object");
    vars = in.body["vars"];
  }
  return std::make_pair(in.body["config"].get<std::string>(), std::move(vars));
}

parsed<proto::set_pipeline> set_pipeline(const input& in) {
  if (auto no = bad_pipeline_name(in.param("p"))) return *no;
  auto text = pipeline_text(in);
  if (auto* no = std::get_if<response>(&text)) return *no;
  auto& [config, vars] = std::get<std::pair<std::string, json>>(text);
  return proto::set_pipeline{in.param("p"), std::move(config), std::move(vars)};
}

/// POST /validate {"config","vars","offline","name"}: `name` (optional) is the pipeline's name
/// the text is meant for, as in PUT /pipelines/{p}'s messages. Only admins (who may set
/// pipelines) have the node fetch http(s) sources: for other roles the load is offline, so a
/// reader cannot make the node request URLs of their choosing.
parsed<proto::validate_pipeline> validate_pipeline(const input& in) {
  auto text = pipeline_text(in);
  if (auto* no = std::get_if<response>(&text)) return *no;
  const auto& b = in.body;
  if (b.contains("offline") && !b["offline"].is_boolean()) return bad("offline must be a boolean");
  std::string name;
  if (b.contains("name")) {
    if (!b["name"].is_string()) return bad("name must be a string");
    name = b["name"].get<std::string>();
    if (auto no = bad_pipeline_name(name)) return *no;
  }
  auto& [config, vars] = std::get<std::pair<std::string, json>>(text);
  bool offline = b.value("offline", false) || !auth::allows(in.who.r, auth::role::admin);
  return proto::validate_pipeline{std::move(name), std::move(config), std::move(vars), offline};
}

/// GET /events?pipeline=NAME: only that pipeline's events.
proto::watch_events watch_events(const input& in) {
  std::string pipeline;
  if (in.query.has("pipeline")) pipeline = std::string(in.query["pipeline"]);
  return proto::watch_events{in.open_stream(), std::move(pipeline), in.last_event_id};
}

parsed<proto::set_concurrency> set_concurrency(const input& in) {
  const auto& b = in.body;
  auto text = [&](const char* k) { return !b.contains(k) || b[k].is_string(); };
  if (!text("mode") || !text("group_template"))
    return bad("mode and group_template must be strings");
  if (b.contains("cancel_running") && !b["cancel_running"].is_boolean())
    return bad("cancel_running must be a boolean");
  return proto::set_concurrency{in.param("p"), b.value("mode", std::string()),
                              b.value("group_template", std::string()),
                              b.value("cancel_running", false)};
}

parsed<proto::pin_resource> pin(const input& in) {
  const auto& v = in.body.contains("version_id") ? in.body["version_id"] : json();
  if (!v.is_number_integer()) return bad("version_id must be an integer");
  return proto::pin_resource{in.param("p"), in.param("rc"), v.get<std::int64_t>()};
}

/// PUT /pipelines/{p}/webhooks/git {"secret"}: 1 to 256 bytes.
parsed<proto::set_git_webhook> set_git_webhook(const input& in) {
  const auto& s = in.body.contains("secret") ? in.body["secret"] : json();
  if (!s.is_string() || s.get_ref<const std::string&>().empty() ||
      s.get_ref<const std::string&>().size() > 256)
    return bad("secret must be a non-empty string of at most 256 bytes");
  return proto::set_git_webhook{in.param("p"), s.get<std::string>()};
}

/// `{"value": "..."}` of a PUT of the internal secret store, for `pipeline` ("": team-wide).
parsed<proto::set_secret> set_secret(const input& in, std::string pipeline) {
  const auto& v = in.body.contains("value") ? in.body["value"] : json();
  if (!v.is_string()) return bad("value must be a string");
  return proto::set_secret{std::move(pipeline), in.param("name"), v.get<std::string>()};
}

/// POST .../approve {"message"?} and .../reject {"message"}: a decision by the token's subject.
/// The message is at most 4096 bytes; a rejection says why.
parsed<proto::decide_build> decide(const input& in, bool approve) {
  const auto& m = in.body.contains("message") ? in.body["message"] : json();
  if (!m.is_null() && !m.is_string()) return bad("message must be a string");
  std::string message = m.is_string() ? m.get<std::string>() : "";
  if (message.size() > 4096) return bad("message must be at most 4096 bytes");
  if (!approve && message.empty()) return bad("a rejection needs a message");
  return proto::decide_build{in.param("p"), in.param("j"), in.param("n"),
                             in.who.subject, approve, std::move(message)};
}

std::optional<std::int64_t> integer(const std::string& text) {
  if (text.empty() || text.size() > 18) return std::nullopt;
  std::int64_t n = 0;
  for (char c : text) {
    if (c < '0' || c > '9') return std::nullopt;
    n = n * 10 + (c - '0');
  }
  return n;
}

/// GET /notifications?status=pending,failed&limit=50
parsed<proto::list_notifications> list_notifications(const input& in) {
  std::string error;
  auto limit = limit_of(in, error);
  if (!limit) return bad(error);
  proto::list_notifications req;
  req.limit = *limit;
  if (in.query.has("status")) {
    std::string text(in.query["status"]);
    std::size_t start = 0;
    while (start <= text.size()) {
      auto comma = text.find(',', start);
      auto word = text.substr(start, comma == std::string::npos ? comma : comma - start);
      if (!word.empty() && !model::parse_delivery_status(word))
        return bad("unknown notification status \"" + word + "\" (pending, delivered or failed)");
      if (!word.empty()) req.statuses.insert(word);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  }
  return req;
}

/// What a request shows to say who is calling: the Authorization header, or (on user routes)
/// the session cookie, which on writes needs the token's CSRF token beside it (docs/web-ui.md).
struct credentials {
  std::optional<std::string> authorization;
  std::optional<std::string> cookie;  // the Cookie fields, joined with "; "
  std::optional<std::string> csrf;    // the X-CSRF-Token fields, joined with ", "
  bool writes = false;                // neither GET nor HEAD
};

/// A verified token and its claims.
struct caller {
  auth::claims claims;
  std::string token;
};

/// The caller of a request's credentials, or why not (401, 403 for a missing or wrong CSRF
/// token). The gate asks before a body is read; routes ask again with the role.
std::variant<caller, refusal> token_claims(const credentials& c, const std::string& secret) {
  auto session = c.authorization || !c.cookie ? std::nullopt : auth::session_token(*c.cookie);
  std::string token;
  if (session) {
    token = std::move(*session);
  } else if (!c.authorization) {
    return refusal{errc::unauthenticated,
                   c.cookie ? "missing Authorization: Bearer <token> or session cookie"
                            : "missing Authorization: Bearer <token>"};
  } else {
    auto bearer = auth::parse_bearer(*c.authorization);
    if (!bearer) return refusal{errc::unauthenticated, bearer.error};
    token = std::move(*bearer.token);
  }
  auto verified = auth::verify(secret, token, unix_now());
  if (!verified)
    return refusal{errc::unauthenticated,
                   session ? "session: " + verified.error + ": log in again" : verified.error};
  // a page of another site can make the browser send the cookie, but cannot read this value
  if (session && c.writes && !(c.csrf && auth::csrf_matches(secret, token, *c.csrf)))
    return refusal{errc::forbidden, "missing or wrong CSRF token"};
  return caller{*verified.ok, std::move(token)};
}

/// The values of every field `name` of the request, joined with `separator`; nullopt: none.
std::optional<std::string> fields_of(const request_t& req, std::string_view name,
                                     const char* separator) {
  std::optional<std::string> out;
  req->header().for_each_field([&](const auto& f) {
    if (!restinio::impl::is_equal_caseless(f.name(), name)) return;
    out = out ? *out + separator + f.value() : f.value();
  });
  return out;
}

/// The credentials of a request; the session cookie counts only on user routes.
credentials credentials_of(const request_t& req, bool user) {
  const auto& h = req->header();
  credentials c;
  if (h.has_field(restinio::http_field::authorization))
    c.authorization = h.get_field(restinio::http_field::authorization);
  if (user) {
    c.cookie = fields_of(req, "cookie", "; ");
    c.csrf = fields_of(req, "x-csrf-token", ", ");
  }
  c.writes =
      h.method() != restinio::http_method_get() && h.method() != restinio::http_method_head();
  return c;
}

/// Who is calling: the verified caller, or the 401/403 answer.
std::variant<caller, response> authenticate(const request_t& req, const node_view& node,
                                            auth::role need) {
  auto who = token_claims(credentials_of(req, true), node.jwt_secret);
  if (auto* no = std::get_if<refusal>(&who)) return failure(no->code, no->message);
  auto& c = std::get<caller>(who).claims;
  if (c.worker)
    return failure(errc::forbidden, "worker tokens are accepted only on worker routes");
  // A token from a login holds what its account holds now (docs/users.md).
  if (node.users) {
    auto now_role = node.users->role_of(c.subject, c.stamp, c.r);
    if (!now_role)
      return failure(errc::unauthenticated,
                     "the account of this token was deleted or its password changed: log in "
                     "again");
    c.r = *now_role;
  }
  if (!auth::allows(c.r, need))
    return failure(errc::forbidden, "this needs the " + std::string(auth::to_string(need)) +
                                          " role; the token has " +
                                          std::string(auth::to_string(c.r)));
  return std::get<caller>(std::move(who));
}

/// A JSON body decoded with the node's limits (pipeline::decode_json), or the 400/413 answer.
std::variant<json, response> decode_body(const std::string& text, std::size_t max_bytes) {
  auto d = pipeline::decode_json(text, {max_bytes, pipeline::max_json_depth});
  switch (d.failure) {
    case pipeline::json_failure::none:
      return std::move(d.value);
    case pipeline::json_failure::too_large:
      return failure(errc::payload_too_large,
                       "request body larger than " + std::to_string(max_bytes) + " bytes");
    case pipeline::json_failure::too_deep:
      return bad("request body nests deeper than " + std::to_string(pipeline::max_json_depth) +
                 " levels");
    case pipeline::json_failure::malformed:
      break;
  }
  return bad("request body is not valid JSON");
}

/// The body as a JSON object (`{}` when empty), or the 400/413 answer.
std::variant<json, response> json_body(const request_t& req, std::size_t max_bytes) {
  const auto& text = req->body();
  if (text.empty()) return json::object();
  auto j = decode_body(text, max_bytes);
  if (auto* j_ok = std::get_if<json>(&j); j_ok && !j_ok->is_object())
    return bad("request body must be a JSON object");
  return j;
}

/// The client's address as text ("127.0.0.1"), for the login throttle.
std::string address_of(const request_t& req) {
  return req->remote_endpoint().address().to_string();
}

/// Runs `work` (PBKDF2: tens of milliseconds) on a thread of its own, a handful at once at most:
/// the 503 answer when too many are running.
std::optional<response> hash_off_io(std::function<void()> work) {
  static std::atomic<int> in_progress{0};
  if (in_progress.fetch_add(1) >= 8) {
    --in_progress;
    auto r = failure(errc::queue_full, "too many password checks in progress");
    r.headers = {{"Retry-After", "1"}};  // they finish within a second
    return r;
  }
  std::thread([work = std::move(work)] {
    work();
    --in_progress;
  }).detach();
  return std::nullopt;
}

/// The session of a login token, as `POST /session` and `GET /session` answer it.
json session_of(const std::string& secret, const auth::claims& c, const std::string& token) {
  using namespace std::chrono;
  return {{"username", c.subject},
          {"role", std::string(auth::to_string(c.r))},
          {"csrf_token", auth::csrf_token(secret, token)},
          {"expires_at",
           c.expires_at == 0
               ? json(nullptr)
               : json(model::format_time(system_clock::time_point(seconds(c.expires_at))))}};
}

/// The Set-Cookie value that keeps `token` in the browser for `max_age` seconds (0: until the
/// browser closes; negative: remove it).
std::string session_cookie(const std::string& token, std::int64_t max_age) {
  auto text =
      std::string(auth::session_cookie) + "=" + token + "; Path=/; HttpOnly; SameSite=Strict";
  if (max_age != 0) text += "; Max-Age=" + std::to_string(std::max<std::int64_t>(max_age, 0));
  return text;
}

/// What a successful password login answers: `POST /login` the token, `POST /session` the
/// session with the token in a cookie.
enum class login_answer { token, session };

/// POST /login and POST /session: PBKDF2 runs off the I/O thread (hash_off_io). Failed attempts
/// back off per address and per user name (auth::login_throttle), checked before any PBKDF2 work.
handling_t login(const request_t& req, const node_view& node, const server_options& opts,
                 std::shared_ptr<auth::login_throttle> throttle, login_answer answer) {
  auto body = json_body(req, opts.max_login_body_bytes);
  if (auto* r = std::get_if<response>(&body)) return reply(req, *r);
  auto& j = std::get<json>(body);
  if (!j.contains("username") || !j["username"].is_string() || !j.contains("password") ||
      !j["password"].is_string())
    return reply(req, bad("username and password must be strings"));
  auto user = j["username"].get<std::string>();
  if (user.size() > 256) return reply(req, bad("username longer than 256 bytes"));
  auto address = address_of(req);
  if (auto wait = throttle->wait(address, user, auth::login_throttle::clock::now());
      wait.count() > 0) {
    auto seconds = (wait.count() + 999) / 1000;
    auto r = failure(errc::too_many_requests,
                       "too many failed logins: retry in " + std::to_string(seconds) + " s");
    r.headers.emplace_back("Retry-After", std::to_string(seconds));
    return reply(req, r);
  }
  auto busy =
      hash_off_io([req, users = node.users, secret = node.jwt_secret, ttl = opts.login_ttl_seconds,
                   throttle, address, user, answer, pass = j["password"].get<std::string>()] {
        auto c = users->login(user, pass, unix_now(), ttl);
        if (!c) {
          throttle->failed(address, user, auth::login_throttle::clock::now());
          return write(req, failure(errc::unauthenticated, "wrong username or password"));
        }
        throttle->succeeded(address, user);
        auto token = auth::sign(secret, *c);
        if (answer == login_answer::token)
          return write(req, ok({{"token", token}, {"role", std::string(auth::to_string(c->r))}}));
        auto r = ok(session_of(secret, *c, token));
        r.headers.emplace_back("Set-Cookie", session_cookie(token, ttl));
        write(req, r);
      });
  if (busy) return reply(req, *busy);
  return restinio::request_accepted();
}

handling_t method_not_allowed(const request_t& req, params_t) {
  return reply_error(req, errc::method_not_allowed,
                     "method not allowed on " + std::string(req->header().path()));
}

/// The answer to a request the gate refused (its synthetic stand-in, see request_gate.hpp).
handling_t reply_refusal(const request_t& req) {
  const auto& h = req->header();
  auto code = h.get_field_or(std::string(refusal_code_header), "bad_request");
  auto message = percent_decode_message(h.get_field_or(std::string(refusal_message_header), ""));
  errc e = errc::bad_request;
  for (errc c : {errc::bad_request, errc::unauthenticated, errc::forbidden, errc::not_found,
                 errc::payload_too_large, errc::uri_too_long, errc::header_too_large})
    if (code == domain::to_string(c)) e = c;
  return reply_error(req, e, message);
}

/// The web UI's answer (http/ui.hpp) to a request no API route has, if it is the UI's; its
/// request counter's `route` is `ui`.
std::optional<handling_t> serve_ui(const request_t& req) {
  const auto& h = req->header();
  std::string method(h.method().c_str());
  auto field = [&h](restinio::http_field_t f) { return std::string(h.get_field_or(f, "")); };
  auto accept = field(restinio::http_field::accept);
  auto encoding = field(restinio::http_field::accept_encoding);
  auto if_none_match = field(restinio::http_field::if_none_match);
  auto answer = ui_answer({method, h.path(), accept, encoding, if_none_match});
  if (!answer) return std::nullopt;
  requests().count(method, "ui", answer->status);
  // user-controlled output: HEAD and 304 say the length of a body they do not send
  auto resp = req->create_response<restinio::user_controlled_output_t>(restinio::http_status_line_t{
      restinio::http_status_code_t{static_cast<std::uint16_t>(answer->status)}, ""});
  for (const auto& [k, v] : answer->headers) resp.append_header(k, v);
  resp.set_content_length(answer->content_length);
  if (!answer->body.empty())
    resp.set_body(restinio::const_buffer(answer->body.data(), answer->body.size()));
  return resp.done();
}

// ---- the route table

/// Who may use a route.
enum class access {
  anyone,      // no token (health, version, login, session login and logout, metrics)
  worker,      // a worker token
  checked,     // no token: the node checks the webhook token or signature itself
  reader,      // a user token with the read role or more
  writer,      // ... the write role or more
  maintainer,  // ... the maintain role or more (approve, reject, mark as warning)
  admin,       // ... the admin role
};

bool user_route(access a) {
  return a == access::reader || a == access::writer || a == access::maintainer ||
         a == access::admin;
}

auth::role role_of(access a) {
  switch (a) {
    case access::admin: return auth::role::admin;
    case access::maintainer: return auth::role::maintain;
    case access::writer: return auth::role::write;
    default: return auth::role::read;
  }
}

/// What every handler shares: the node, the edge's limits, the login throttle, the open streams,
/// and in cluster mode the forwarder.
struct edge {
  node_view node;
  server_options opts;
  std::shared_ptr<auth::login_throttle> throttle;
  std::shared_ptr<sse_streams> streams;
  std::shared_ptr<cluster_edge> cluster;  // null for a single node
  /// Cluster mode, one request served here: what to do when the node answers `not_owner` (the
  /// partition moved since the edge decided). Empty: the answer is 503 `partition_moving`.
  std::function<void()> on_not_owner;
};

/// The node's answer `r` to a request, unless it says the node does not own the pipeline any
/// more (cluster mode): then `on_not_owner` runs instead (the edge decides again), or without
/// one the client is asked to retry. A single node never answers `not_owner`.
bool moved_away(domain::reply& r, const std::function<void()>& on_not_owner) {
  if (!r.failed() || r.code() != errc::not_owner) return false;
  if (on_not_owner) {
    on_not_owner();
    return true;
  }
  r = domain::fail(errc::partition_moving,
                   "this request's partition is moving between nodes; retry in a moment");
  return false;
}

using handler_fn = std::function<handling_t(const request_t&, input&, const edge&)>;

struct route {
  restinio::http_method_id_t method;
  std::string path;
  access who;
  handler_fn handle;
  bool artifact_body = false;  // takes up to --max-artifact-size instead of the body limit
};

template <class R>
struct operation_of {
  using type = R;
};
template <class Op>
struct operation_of<parsed<Op>> {
  using type = Op;
};

template <class Op, class = void>
struct watches : std::false_type {};
template <class Op>
struct watches<Op, std::void_t<decltype(std::declval<Op>().sink)>> : std::true_type {};

/// Hands an operation to the node; the answer is written when it comes (a watch's stream is
/// already open unless the answer is an error).
template <class Op>
handling_t forward(const request_t& req, const edge& e, Op op) {
  std::shared_ptr<sse_stream> stream;
  if constexpr (watches<Op>::value) stream = std::static_pointer_cast<sse_stream>(op.sink);
  e.node.node.call(std::move(op), [req, stream, moved = e.on_not_owner](domain::reply r) {
    if (moved_away(r, moved)) return;
    if (stream && !r.failed()) {
      stream->opened();
    } else {
      write(req, response_of(r));
    }
  });
  return restinio::request_accepted();
}

/// A route that is one operation: `parse` makes it from the input, or answers at once (400).
template <class F>
handler_fn op(F parse) {
  return [parse](const request_t& req, input& in, const edge& e) -> handling_t {
    using R = std::invoke_result_t<F, const input&>;
    using Op = typename operation_of<R>::type;
    R p = parse(in);
    if constexpr (std::is_same_v<R, Op>) {
      return forward(req, e, std::move(p));
    } else {
      if (auto* answer = std::get_if<response>(&p)) return reply(req, *answer);
      return forward(req, e, std::move(std::get<Op>(p)));
    }
  };
}

handling_t health(const request_t& req, input&, const edge& e) {
  return reply(req, ok(e.node.health()));
}

handling_t version(const request_t& req, input&, const edge&) {
  return reply(req, ok({{"version", build_info::version}, {"commit", build_info::commit}}));
}

/// The cluster's members and partition owners as this node knows them (the members' hellos);
/// a single node says so.
handling_t cluster(const request_t& req, input&, const edge& e) {
  using namespace std::chrono;
  auto now = duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
  return reply(req, ok(cluster_body(e.node.cluster.get(), now)));
}

/// Prometheus: the node's figures plus this edge's request counters.
handling_t metrics(const request_t& req, input&, const edge& e) {
  e.node.node.call(proto::get_metrics{}, [req](domain::reply r) {
    auto out = response_of(r);
    if (out.status == 200) out.raw += requests().text();
    write(req, out);
  });
  return restinio::request_accepted();
}

/// A worker starting checks its token and learns the Kafka settings.
handling_t register_worker(const request_t& req, input&, const edge& e) {
  auto hello = e.node.worker_hello ? e.node.worker_hello() : json(nullptr);
  if (hello.is_null())
    return reply_error(req, errc::conflict,
                       "this server has no remote workers (--pubsub-system mem)");
  return reply(req, ok(std::move(hello)));
}

/// A git push webhook: the pipeline, which holds the secret, checks the signature over the raw
/// body (docs/webhooks.md).
handling_t git_webhook(const request_t& req, input& in, const edge& e) {
  proto::git_webhook hook;
  hook.pipeline = in.param("p");
  hook.body = req->body();
  req->header().for_each_field([&hook](const auto& f) {
    std::string name(f.name());
    for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    // header and query values reach `.Webhook`, logs and the store as text: bytes that are
    // not UTF-8 become U+FFFD here (the signature covers the raw body, which stays as sent)
    auto& v = hook.headers[hcl::to_valid_utf8(name)];
    auto value = hcl::to_valid_utf8(f.value());
    v = v.empty() ? value : v + ", " + value;
  });
  try {
    auto query =
        restinio::parse_query<restinio::parse_query_traits::relaxed>(req->header().query());
    for (const auto& [k, v] : query) hook.query[hcl::to_valid_utf8(k)] = hcl::to_valid_utf8(v);
  } catch (const std::exception& x) {
    return reply_error(req, errc::bad_request, std::string("bad query: ") + x.what());
  }
  return forward(req, e, std::move(hook));
}

// ---- artifacts (the built-in `artifact` type): worker routes over the node's store

/// The store and the path's pipeline and resource, or the answer (404, 400).
std::variant<persistence::artifact_store*, response> artifact_store_of(const input& in,
                                                                       const edge& e) {
  if (!e.node.artifacts) return failure(errc::not_found, "this node keeps no artifacts");
  if (!persistence::artifact_store::valid_name(in.param("p")) ||
      !persistence::artifact_store::valid_name(in.param("r")))
    return bad("pipeline and resource names are 1 to 128 of A-Z a-z 0-9 . _ -");
  return e.node.artifacts.get();
}

/// POST /artifacts/{p}/{r}: the body (a .tar.gz) becomes a new version. Written to disk off the
/// I/O thread, a few at a time.
handling_t artifact_upload(const request_t& req, input& in, const edge& e) {
  static std::atomic<int> in_progress{0};
  auto store = artifact_store_of(in, e);
  if (auto* no = std::get_if<response>(&store)) return reply(req, *no);
  if (req->body().empty()) return reply(req, bad("an artifact upload needs a body (.tar.gz)"));
  if (in_progress.fetch_add(1) >= 4) {
    --in_progress;
    auto r = failure(errc::queue_full, "too many artifact uploads in progress");
    r.headers = {{"Retry-After", "1"}};
    return reply(req, r);
  }
  std::thread([req, store = e.node.artifacts, p = in.param("p"), r = in.param("r")] {
    std::string error;
    auto v = store->add(p, r, req->body(), error);
    if (!v) {
      spdlog::error("event=artifact.store_failed pipeline={} resource={} error=\"{}\"", p, r,
                    error);
      write(req, failure(errc::internal, error));
    } else {
      spdlog::info("event=artifact.stored pipeline={} resource={} sha={} bytes={}", p, r, v->sha,
                   req->body().size());
      write(req, response{201, {{"sha", v->sha}, {"timestamp", v->timestamp}}, {}, {}});
    }
    --in_progress;
  }).detach();
  return restinio::request_accepted();
}

/// GET /artifacts/{p}/{r}?after=TIMESTAMP: versions newer than `after`, oldest first; without
/// `after`, the latest only.
handling_t artifact_list(const request_t& req, input& in, const edge& e) {
  auto store = artifact_store_of(in, e);
  if (auto* no = std::get_if<response>(&store)) return reply(req, *no);
  std::string after;
  try {
    auto query =
        restinio::parse_query<restinio::parse_query_traits::relaxed>(req->header().query());
    if (query.has("after")) after = std::string(query["after"]);
  } catch (const std::exception& x) {
    return reply_error(req, errc::bad_request, std::string("bad query: ") + x.what());
  }
  if (!after.empty() && !persistence::artifact_store::valid_timestamp(after))
    return reply(req, bad("`after` is an artifact timestamp (23 digits)"));
  auto out = json::array();
  for (const auto& v :
       std::get<persistence::artifact_store*>(store)->list(in.param("p"), in.param("r"), after))
    out.push_back({{"sha", v.sha}, {"timestamp", v.timestamp}});
  return reply(req, ok({{"versions", std::move(out)}}));
}

/// GET /artifacts/{p}/{r}/{sha}: the archive, sent from its file as the socket takes it.
handling_t artifact_download(const request_t& req, input& in, const edge& e) {
  auto store = artifact_store_of(in, e);
  if (auto* no = std::get_if<response>(&store)) return reply(req, *no);
  auto sha = in.param("sha");
  auto found = persistence::artifact_store::valid_sha(sha)
                   ? std::get<persistence::artifact_store*>(store)->archive(in.param("p"),
                                                                            in.param("r"), sha)
                   : std::nullopt;
  if (!found) return reply_error(req, errc::not_found, "artifact \"" + sha + "\" not found");
  try {
    auto file = restinio::sendfile(found->string());
    requests().count("GET", route_of(req->header().path()), 200);
    req->create_response()
        .append_header(restinio::http_field::content_type, "application/gzip")
        .set_body(std::move(file))
        .done();
  } catch (const std::exception& x) {
    return reply_error(req, errc::not_found, "artifact \"" + sha + "\" cannot be read");
  }
  return restinio::request_accepted();
}

parsed<proto::trigger_version> trigger_version(const input& in) {
  auto id = integer(in.param("id"));
  if (!id) return failure(errc::not_found, "version \"" + in.param("id") + "\" not found");
  return proto::trigger_version{in.param("p"), in.param("rc"), *id, in.who.subject};
}

parsed<proto::get_build> build_by_id(const input& in) {
  auto id = integer(in.param("id"));
  if (!id) return failure(errc::not_found, "build \"" + in.param("id") + "\" not found");
  return proto::get_build{"", "", "", *id};
}

/// POST .../versions {"version": {"ref": "abc"}}: an object of at most 64 strings.
parsed<proto::add_version> add_version(const input& in) {
  const char* shape = "version must be an object of 1 to 64 string values";
  if (!in.body.is_object() || !in.body.contains("version")) return bad(shape);
  const auto& v = in.body["version"];
  if (!v.is_object() || v.empty() || v.size() > max_trigger_items) return bad(shape);
  std::size_t bytes = 0;
  for (const auto& [k, x] : v.items()) {
    if (!x.is_string()) return bad(shape);
    bytes += k.size() + x.get_ref<const std::string&>().size();
  }
  if (bytes > max_trigger_bytes)
    return failure(errc::payload_too_large,
                   "version is larger than " + std::to_string(max_trigger_bytes) + " bytes");
  return proto::add_version{in.param("p"), in.param("rc"), v};
}

parsed<proto::list_versions> list_versions(const input& in) {
  std::string error;
  auto limit = limit_of(in, error);
  if (!limit) return bad(error);
  return proto::list_versions{in.param("p"), in.param("rc"), *limit};
}

const std::string P = "/api/v1/pipelines/:p";
const std::string J = P + "/jobs/:j";
const std::string B = J + "/builds/:n";
const std::string R = P + "/resources/:rc";

// ---- user accounts (docs/users.md)

/// A string field of a user body, if given; `error` set when it is there but not a string.
std::optional<std::string> string_field(const json& body, const char* field, std::string& error) {
  if (!body.contains(field)) return std::nullopt;
  if (!body[field].is_string()) {
    error = std::string(field) + " must be a string";
    return std::nullopt;
  }
  return body[field].get<std::string>();
}

/// Fields of `body` outside `allowed`, as a 400; nullopt when there are none.
std::optional<response> unknown_fields(const json& body,
                                       std::initializer_list<const char*> allowed) {
  for (const auto& [key, v] : body.items())
    if (std::none_of(allowed.begin(), allowed.end(), [&](const char* a) { return key == a; }))
      return bad("unknown field \"" + key + "\"; expected " +
                 (allowed.size() == 3 ? "username, password and role" : "role or password"));
  return std::nullopt;
}

/// A role named in a user body; the error says which roles there are.
std::optional<auth::role> user_role(const std::string& name, std::string& error) {
  auto r = auth::parse_role(name);
  if (!r || *r == auth::role::worker) {
    error = "role must be read, write, maintain or admin";
    return std::nullopt;
  }
  return r;
}

/// Hands `op` to the node once its password is hashed (off the I/O thread).
template <class Op>
handling_t with_password(const request_t& req, const edge& e, Op op, std::string password) {
  auto busy = hash_off_io([req, node = e.node.node, op = std::move(op),
                           password = std::move(password), moved = e.on_not_owner]() mutable {
    auto hashed = auth::user_store::hash_password(password);
    if (!hashed) return write(req, failure(errc::internal, "random generator failed"));
    op.password = *hashed;
    node.call(std::move(op), [req, moved](domain::reply r) {
      if (moved_away(r, moved)) return;
      write(req, response_of(r));
    });
  });
  if (busy) return reply(req, *busy);
  return restinio::request_accepted();
}

/// POST /users {"username", "password", "role"}; the role defaults to read.
handling_t create_user(const request_t& req, input& in, const edge& e) {
  if (auto no = unknown_fields(in.body, {"username", "password", "role"})) return reply(req, *no);
  std::string error;
  auto name = string_field(in.body, "username", error);
  auto password = string_field(in.body, "password", error);
  auto role = string_field(in.body, "role", error);
  if (error.empty() && (!name || !password)) error = "username and password are required";
  if (error.empty()) error = auth::user_store::name_problem(*name);
  if (error.empty()) error = auth::user_store::password_problem(*password);
  auto r = error.empty() ? user_role(role.value_or("read"), error) : std::nullopt;
  if (!error.empty()) return reply(req, bad(error));
  return with_password(req, e, proto::create_user{*name, *r, {}}, std::move(*password));
}

/// PUT /users/{name} {"role"} or {"password"} (or both): the admin role, except that an account
/// may change its own password with a token from its login.
handling_t update_user(const request_t& req, input& in, const edge& e) {
  if (auto no = unknown_fields(in.body, {"role", "password"})) return reply(req, *no);
  std::string name = in.param("name");
  std::string error;
  auto role = string_field(in.body, "role", error);
  auto password = string_field(in.body, "password", error);
  if (error.empty() && !role && !password) error = "give a role or a password";
  if (error.empty() && password) error = auth::user_store::password_problem(*password);
  auto r = error.empty() && role ? user_role(*role, error) : std::nullopt;
  if (!error.empty()) return reply(req, bad(error));
  bool own_password = !role && in.who.subject == name && !in.who.stamp.empty();
  if (in.who.r != auth::role::admin && !own_password)
    return reply_error(req, errc::forbidden,
                       "this needs the admin role; a user may change only their own password, "
                       "with a token from their login");
  proto::update_user op{name, r, std::nullopt};
  if (!password) return forward(req, e, std::move(op));
  return with_password(req, e, std::move(op), std::move(*password));
}

/// Every route of the API, one row each: method, path pattern, who may use it, what it does.
/// The router, the gate's body and token rules, and the request counters' `route` label all
/// read this table; known paths answer 405 for other methods.
const std::vector<route>& routes() {
  using a = access;
  auto get = restinio::http_method_get();
  auto post = restinio::http_method_post();
  auto put = restinio::http_method_put();
  auto del = restinio::http_method_delete();
  static const std::vector<route> table = {
      {get, "/api/v1/health", a::anyone, health},
      {get, "/api/v1/version", a::anyone, version},
      {post, "/api/v1/login", a::anyone,
       [](const request_t& req, input&, const edge& e) {
         return login(req, e.node, e.opts, e.throttle, login_answer::token);
       }},
      // the browser's session (docs/web-ui.md)
      {post, "/api/v1/session", a::anyone,
       [](const request_t& req, input&, const edge& e) {
         return login(req, e.node, e.opts, e.throttle, login_answer::session);
       }},
      {get, "/api/v1/session", a::reader,
       [](const request_t& req, input& in, const edge& e) {
         return reply(req, ok(session_of(e.node.jwt_secret, in.who, in.token)));
       }},
      // the browser forgets the cookie; the token itself holds until it expires, and no page
      // could read it (HttpOnly)
      {del, "/api/v1/session", a::anyone,
       [](const request_t& req, input&, const edge&) {
         return reply(req, response{204, nullptr, {{"Set-Cookie", session_cookie("", -1)}}, {}});
       }},
      {get, "/metrics", a::anyone, metrics},
      // user accounts: PUT checks itself who may change what (own password)
      {get, "/api/v1/users", a::admin, op([](const input&) { return proto::list_users{}; })},
      {post, "/api/v1/users", a::admin, create_user},
      {put, "/api/v1/users/:name", a::reader, update_user},
      {del, "/api/v1/users/:name", a::admin,
       op([](const input& in) { return proto::delete_user{in.param("name")}; })},
      {post, "/api/v1/workers/register", a::worker, register_worker},
      {post, "/api/v1/artifacts/:p/:r", a::worker, artifact_upload, true},
      {get, "/api/v1/artifacts/:p/:r", a::worker, artifact_list},
      {get, "/api/v1/artifacts/:p/:r/:sha", a::worker, artifact_download},
      {get, "/api/v1/workers/secrets/:p/:name", a::worker, op([](const input& in) {
         return proto::read_secret{in.param("p"), in.param("name")};
       })},
      // the internal secret store: values go in, never out
      {get, "/api/v1/secrets", a::reader, op([](const input&) { return proto::list_secrets{}; })},
      {put, "/api/v1/secrets/:name", a::admin,
       op([](const input& in) { return set_secret(in, ""); })},
      {del, "/api/v1/secrets/:name", a::admin, op([](const input& in) {
         return proto::delete_secret{"", in.param("name")};
       })},
      {get, P + "/secrets", a::reader,
       op([](const input& in) { return proto::list_secrets{in.param("p")}; })},
      {put, P + "/secrets/:name", a::admin,
       op([](const input& in) { return set_secret(in, in.param("p")); })},
      {del, P + "/secrets/:name", a::admin, op([](const input& in) {
         return proto::delete_secret{in.param("p"), in.param("name")};
       })},
      {post, "/api/v1/webhooks/:token", a::checked,
       op([](const input& in) { return proto::webhook{in.param("token")}; })},
      {post, P + "/webhooks/git", a::checked, git_webhook},
      // pipelines
      {get, "/api/v1/pipelines", a::reader,
       op([](const input&) { return proto::list_pipelines{}; })},
      {put, P, a::admin, op(set_pipeline)},
      {get, P, a::reader, op([](const input& in) { return proto::get_pipeline{in.param("p")}; })},
      {get, P + "/graph", a::reader,
       op([](const input& in) { return proto::get_graph{in.param("p")}; })},
      {del, P, a::admin, op([](const input& in) { return proto::delete_pipeline{in.param("p")}; })},
      {post, P + "/pause", a::writer, op([](const input& in) {
         return proto::pause_pipeline{in.param("p"), true};
       })},
      {post, P + "/unpause", a::writer, op([](const input& in) {
         return proto::pause_pipeline{in.param("p"), false};
       })},
      {put, P + "/concurrency", a::admin, op(set_concurrency)},
      {put, P + "/webhooks/git", a::admin, op(set_git_webhook)},
      {del, P + "/webhooks/git", a::admin, op([](const input& in) {
         return proto::set_git_webhook{in.param("p"), std::nullopt};
       })},
      // jobs
      {get, P + "/jobs", a::reader,
       op([](const input& in) { return proto::list_jobs{in.param("p")}; })},
      {get, J, a::reader, op([](const input& in) {
         return proto::get_job{in.param("p"), in.param("j")};
       })},
      {post, J + "/trigger", a::writer, op(trigger_job)},
      {post, J + "/pause", a::writer, op([](const input& in) {
         return proto::pause_job{in.param("p"), in.param("j"), true};
       })},
      {post, J + "/unpause", a::writer, op([](const input& in) {
         return proto::pause_job{in.param("p"), in.param("j"), false};
       })},
      // builds
      {get, J + "/builds", a::reader,
       op([](const input& in) { return list_builds(in, in.param("p"), in.param("j")); })},
      {get, B, a::reader, op([](const input& in) {
         return proto::get_build{in.param("p"), in.param("j"), in.param("n"), 0};
       })},
      {post, B + "/cancel", a::writer, op([](const input& in) {
         return proto::cancel_build{in.param("p"), in.param("j"), in.param("n"), in.who.subject};
       })},
      {post, B + "/retry", a::writer, op([](const input& in) {
         return proto::retry_build{in.param("p"), in.param("j"), in.param("n"), in.who.subject};
       })},
      {post, B + "/approve", a::maintainer, op([](const input& in) { return decide(in, true); })},
      {post, B + "/reject", a::maintainer, op([](const input& in) { return decide(in, false); })},
      {post, B + "/warning", a::maintainer, op([](const input& in) {
         return proto::mark_warning{in.param("p"), in.param("j"), in.param("n"), in.who.subject};
       })},
      {get, B + "/events", a::reader, op([](const input& in) {
         return proto::watch_build{in.param("p"), in.param("j"), in.param("n"), in.open_stream(),
                                   in.last_event_id};
       })},
      {get, B + "/plan", a::reader, op([](const input& in) {
         return proto::get_build_plan{in.param("p"), in.param("j"), in.param("n")};
       })},
      {get, "/api/v1/builds", a::reader,
       op([](const input& in) { return list_builds(in, "", ""); })},
      {get, "/api/v1/builds/:id", a::reader, op(build_by_id)},
      // resources
      {get, P + "/resources", a::reader,
       op([](const input& in) { return proto::list_resources{in.param("p")}; })},
      {post, R + "/check", a::writer, op([](const input& in) {
         return proto::check_resource{in.param("p"), in.param("rc")};
       })},
      {get, R + "/versions", a::reader, op(list_versions)},
      {post, R + "/versions", a::writer, op(add_version)},
      {post, R + "/versions/:id/trigger", a::writer, op(trigger_version)},
      {post, R + "/pin", a::writer, op(pin)},
      {post, R + "/unpin", a::writer, op([](const input& in) {
         return proto::pin_resource{in.param("p"), in.param("rc"), std::nullopt};
       })},
      {post, R + "/webhook-token", a::writer, op([](const input& in) {
         return proto::regenerate_webhook_token{in.param("p"), in.param("rc")};
       })},
      // the node
      {get, "/api/v1/queue", a::reader, op([](const input&) { return proto::get_queue{}; })},
      {get, "/api/v1/workers", a::reader, op([](const input&) { return proto::list_workers{}; })},
      {del, "/api/v1/workers/:name", a::admin,
       op([](const input& in) { return proto::forget_worker{in.param("name")}; })},
      {get, "/api/v1/stats", a::reader, op([](const input&) { return proto::get_stats{}; })},
      {get, "/api/v1/cluster", a::reader, cluster},
      {get, "/api/v1/events", a::reader, op(watch_events)},
      {get, "/api/v1/dashboard", a::reader,
       op([](const input&) { return proto::get_dashboard{}; })},
      {post, "/api/v1/validate", a::reader, op(validate_pipeline)},
      {get, "/api/v1/admin/export", a::admin,
       op([](const input&) { return proto::export_store{}; })},
      {get, "/api/v1/notifications", a::reader, op(list_notifications)},
      {post, "/api/v1/notifications/:id/retry", a::writer,
       op([](const input& in) { return proto::retry_notification{in.param("id")}; })},
  };
  return table;
}

/// The segments of a path ("/a", "/b").
std::vector<std::string_view> segments(std::string_view s) {
  std::vector<std::string_view> parts;
  while (!s.empty()) {
    auto slash = s.find('/', 1);
    parts.push_back(s.substr(0, slash));
    s = slash == std::string_view::npos ? std::string_view() : s.substr(slash);
  }
  return parts;
}

bool matches(const std::string& pattern, const std::vector<std::string_view>& parts) {
  auto want = segments(pattern);
  if (want.size() != parts.size()) return false;
  for (std::size_t i = 0; i < want.size(); ++i)
    if (want[i].substr(0, 2) != "/:" && want[i] != parts[i]) return false;
  return true;
}

/// The row for `method` on `path`; for another method on a known path, the first row of that
/// path that needs a token (a webhook's POST is the only one that takes none). Null: no route.
const route* route_for(std::string_view method, std::string_view path) {
  auto parts = segments(path);
  const route *any = nullptr, *with_token = nullptr;
  for (const auto& r : routes()) {
    if (!matches(r.path, parts)) continue;
    if (r.method.c_str() == method) return &r;
    if (any == nullptr) any = &r;
    if (with_token == nullptr && r.who != access::checked) with_token = &r;
  }
  return with_token != nullptr ? with_token : any;
}

std::string route_of(std::string_view path) {
  auto parts = segments(path);
  for (const auto& r : routes())
    if (matches(r.path, parts)) return r.path;
  return "other";
}


/// The checks every route gets before its handler on the node that serves it: the token and
/// role a route needs, and for user routes the JSON body and the query.
handling_t serve_here(const route& r, const request_t& req, const params_t& params,
                      const edge& e) {
  auto max_body = r.artifact_body ? e.opts.max_artifact_bytes : e.opts.max_body_bytes;
  auto open = [streams = e.streams, req] { return streams->open(req); };
  if (r.who == access::worker) {
    auto who = token_claims(credentials_of(req, false), e.node.jwt_secret);
    if (auto* no = std::get_if<refusal>(&who)) return reply_error(req, no->code, no->message);
    if (!std::get<caller>(who).claims.worker)
      return reply_error(req, errc::forbidden, "this route needs a worker token");
  }
  if (!user_route(r.who)) {
    input in{params, restinio::parse_query(""), json::object(), {}, open};
    return r.handle(req, in, e);
  }
  auto who = authenticate(req, e.node, role_of(r.who));
  if (auto* denied = std::get_if<response>(&who)) return reply(req, *denied);
  auto body = json_body(req, max_body);
  if (auto* b = std::get_if<response>(&body)) return reply(req, *b);
  try {
    input in{params,
             restinio::parse_query<restinio::parse_query_traits::relaxed>(req->header().query()),
             std::move(std::get<json>(body)),
             std::get<caller>(who).claims,
             open,
             std::get<caller>(who).token};
    in.last_event_id = std::string(req->header().get_field_or("Last-Event-ID", ""));
    if (in.last_event_id.empty() && in.query.has("last_event_id"))
      in.last_event_id = std::string(in.query["last_event_id"]);
    return r.handle(req, in, e);
  } catch (const std::exception& x) {  // a malformed query string
    return reply_error(req, errc::bad_request, std::string("bad query: ") + x.what());
  }
}

// ---- cluster mode: any node answers any request

/// How often a request for a partition that is moving looks again whether someone serves it.
constexpr std::chrono::milliseconds move_poll{50};

/// A request of a partition, from its arrival until it is answered here or by the owner.
struct cluster_request {
  const route* r = nullptr;
  request_t req;
  params_t params;
  std::shared_ptr<const edge> e;
  int k = -1;
  bool forwarded = false;         // it came with the forwarding header: answered here
  bool after_not_owner = false;   // served here once, and the node said it is not the owner
  std::chrono::steady_clock::time_point deadline;  // arrival + move_wait
  std::string owner_error;  // why the last owner tried did not answer
};
using cluster_request_ptr = std::shared_ptr<cluster_request>;

void dispatch(const cluster_request_ptr& c);

domain::wall_ms wall_now() {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

void reply_moving(const cluster_request& c) {
  std::string message = "this request's partition is moving between nodes; retry in a moment";
  if (!c.owner_error.empty()) {
    message += " (its last owner did not answer: " + c.owner_error + ")";
    spdlog::warn("event=http.forward_gave_up path={} error=\"{}\"", c.req->header().path(),
                 c.owner_error);
  }
  write(c.req, failure(errc::partition_moving, message));
}

/// Looks again in a moment (on the I/O thread), or gives up with 503 once move_wait is over.
void wait_or_give_up(const cluster_request_ptr& c) {
  auto now = std::chrono::steady_clock::now();
  const auto& io = c->e->cluster->io;
  if (now >= c->deadline || !io) return reply_moving(*c);
  auto timer = std::make_shared<asio::steady_timer>(*io, std::min<std::chrono::nanoseconds>(
                                                             move_poll, c->deadline - now));
  timer->async_wait([timer, c](const asio::error_code& ec) {
    if (!ec) dispatch(c);
  });
}

/// The request on this node; a `not_owner` answer (the partition moved meanwhile) makes the edge
/// decide again, once; a forwarded request gets 503 instead.
void run_here(const cluster_request_ptr& c) {
  edge here = *c->e;
  if (!c->forwarded)
    here.on_not_owner = [c] {
      c->after_not_owner = true;
      dispatch(c);
    };
  serve_here(*c->r, c->req, c->params, here);
}

/// A relayed event stream: the owner's stream written to this node's client as it comes. The
/// bytes handed to the connection and not yet written are counted; the forwarder stops reading
/// from the owner while they are many, so the owner's own rule cuts off a client that falls
/// too far behind.
class relay_stream final : public stream_sink {
 public:
  explicit relay_stream(request_t req) : req_(std::move(req)) {}
  ~relay_stream() override { close(); }

  bool open(int status, const header_list& headers) override {
    requests().count(std::string(req_->header().method().c_str()),
                     route_of(req_->header().path()), status);
    std::lock_guard<std::mutex> lock(mu_);
    resp_.emplace(req_->create_response<restinio::chunked_output_t>(restinio::http_status_line_t{
        restinio::http_status_code_t{static_cast<std::uint16_t>(status)}, ""}));
    for (const auto& [k, v] : headers) resp_->append_header(k, v);
    return flush(0);
  }
  bool push(std::string_view bytes) override {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_ || !resp_ || flow_->broken) return false;
    resp_->append_chunk(std::string(bytes));
    return flush(bytes.size());
  }
  std::size_t pending() const override { return flow_->pending; }
  void close() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) return;
    done_ = true;
    if (resp_) resp_->done();
  }

 private:
  struct flow {
    std::atomic<std::size_t> pending{0};
    std::atomic<bool> broken{false};
  };
  bool flush(std::size_t size) {
    flow_->pending += size;
    resp_->flush([f = flow_, size](const asio::error_code& ec) {
      f->pending -= size;
      if (ec) f->broken = true;
    });
    return true;
  }

  request_t req_;
  std::mutex mu_;
  std::optional<restinio::response_builder_t<restinio::chunked_output_t>> resp_;
  bool done_ = false;
  std::shared_ptr<flow> flow_ = std::make_shared<flow>();
};

/// An answer `{"error":{"code":"partition_moving",...}}`.
bool refused_as_moving(const std::string& body) {
  if (body.size() > 64 * 1024) return false;
  auto j = json::parse(body, nullptr, false);
  if (!j.is_object()) return false;
  auto e = j.find("error");
  if (e == j.end() || !e->is_object()) return false;
  auto code = e->find("code");
  return code != e->end() && code->is_string() &&
         code->get<std::string>() == domain::to_string(errc::partition_moving);
}

/// The owner's answer, written back as it came.
void write_answer(const cluster_request_ptr& c, forward_answer a) {
  using kind = forward_answer::kind;
  const auto& req = c->req;
  switch (a.what) {
    case kind::answered:
      if (a.status < 100 || a.status > 599) break;
      // the owner we knew no longer serves it and did nothing (a forwarded request is never
      // forwarded again): another owner may be known in a moment
      if (a.status == 503 && std::chrono::steady_clock::now() < c->deadline &&
          refused_as_moving(a.body)) {
        c->owner_error = "it no longer serves the partition";
        return wait_or_give_up(c);
      }
      write(req, response{a.status, nullptr, std::move(a.headers), std::move(a.body)});
      return;
    case kind::unreachable:  // it never got there: another owner may be known in a moment
      spdlog::debug("event=http.forward_unreachable path={} error=\"{}\"", req->header().path(),
                    a.error);
      c->owner_error = a.error;
      return wait_or_give_up(c);
    case kind::failed:
      spdlog::warn("event=http.forward_failed path={} error=\"{}\"", req->header().path(),
                   a.error);
      c->owner_error = a.error;
      // a read may be asked again; a write may have been done by the owner: the client decides
      if (req->header().method() == restinio::http_method_get()) return wait_or_give_up(c);
      break;
    case kind::overloaded: {
      auto r = failure(errc::queue_full, a.error);
      r.headers = {{"Retry-After", "1"}};
      return write(req, r);
    }
    case kind::stopped:
      return write(req, failure(errc::draining, a.error));
  }
  reply_moving(*c);
}

/// The request to the owner at `url`.
void send_to_owner(const cluster_request_ptr& c, const std::string& url) {
  const auto& h = c->req->header();
  forward_request fr;
  fr.method = h.method().c_str();
  auto base = std::string_view(url);
  while (!base.empty() && base.back() == '/') base.remove_suffix(1);
  fr.url = std::string(base) + std::string(h.request_target());
  h.for_each_field([&fr](const auto& f) {
    fr.headers.emplace_back(std::string(f.name()), std::string(f.value()));
  });
  fr.body = c->req->body();
  fr.stream = h.method() == restinio::http_method_get() && c->r->path.size() >= 7 &&
              c->r->path.compare(c->r->path.size() - 7, 7, "/events") == 0;
  forward_handlers handlers;
  handlers.done = [c](forward_answer a) { write_answer(c, std::move(a)); };
  if (fr.stream)
    handlers.stream = [req = c->req]() -> std::shared_ptr<stream_sink> {
      return std::make_shared<relay_stream>(req);
    };
  c->e->cluster->forward->send(std::move(fr), std::move(handlers));
}

/// Decides where the request goes now: here, to the owner, or nowhere yet (it waits).
void dispatch(const cluster_request_ptr& c) {
  const auto& view = *c->e->node.cluster;
  auto live = view.live ? view.live(wall_now()) : std::vector<domain::member>{};
  auto d = http::decide(c->k, *view.table, live, view.self_id, c->forwarded);
  switch (d.kind) {
    case route_kind::local:
      if (c->after_not_owner) break;  // served here once already: wait for another owner
      return run_here(c);
    case route_kind::forward:
      return send_to_owner(c, d.url);
    case route_kind::wait:
      break;
  }
  if (c->forwarded) return reply_moving(*c);
  wait_or_give_up(c);
}

// ---- cluster mode: node-wide reads, every member's part merged

/// A node-wide read being gathered: one part per member, answered once every part is in (each
/// is bounded by the gather wait).
struct gathering {
  std::mutex mu;
  request_t req;
  gather_kind kind = gather_kind::queue;
  std::size_t limit = 50;
  std::vector<member_part> parts;
  std::size_t left = 0;
  std::optional<response> refused;  // a member's 4xx (they all got the same request)
};

void part_done(const std::shared_ptr<gathering>& g, std::size_t i, forward_answer a) {
  std::unique_lock<std::mutex> lock(g->mu);
  auto& part = g->parts[i];
  if (a.what != forward_answer::kind::answered) {
    part.error = a.error.empty() ? "no answer" : a.error;
  } else if (a.status >= 400 && a.status < 500) {
    if (!g->refused) g->refused = response{a.status, nullptr, std::move(a.headers), std::move(a.body)};
    part.error = "answered " + std::to_string(a.status);
  } else if (a.status != 200) {
    part.error = "answered " + std::to_string(a.status);
  } else {
    auto j = a.body.size() <= 64 * 1024 * 1024 ? json::parse(a.body, nullptr, false) : json();
    if (j.is_object()) {
      part.answered = true;
      part.body = std::move(j);
    } else {
      part.error = "the answer is not a JSON object";
    }
  }
  if (--g->left != 0) return;
  lock.unlock();
  for (const auto& p : g->parts)
    if (!p.answered)
      spdlog::warn("event=http.gather_partial path={} member={} error=\"{}\"",
                   g->req->header().path(), p.member_id, p.error);
  if (g->refused) return write(g->req, *g->refused);
  write(g->req, ok(merge_parts(g->kind, g->parts, g->limit)));
}

/// `limit` of the query for the merge (the members check it: a bad one is their 400).
std::size_t gather_limit(const request_t& req) {
  try {
    auto q = restinio::parse_query<restinio::parse_query_traits::relaxed>(req->header().query());
    if (!q.has("limit")) return 50;
    auto n = integer(std::string(q["limit"]));
    return n ? static_cast<std::size_t>(*n) : 50;
  } catch (const std::exception&) {
    return 50;
  }
}

/// Asks every live member (this node too, through its advertise URL) for its part of a
/// node-wide read, marked with the local header, and answers with the merge.
handling_t gather_members(const route& r, const request_t& req, const params_t& params,
                          const edge& e) {
  const auto& view = *e.node.cluster;
  auto live = view.live ? view.live(wall_now()) : std::vector<domain::member>{};
  std::vector<std::pair<std::string, std::string>> members;  // id, URL
  bool self_seen = false;
  for (const auto& m : live) {
    if (!m.last.advertise_url) continue;
    const auto& url = *m.last.advertise_url;
    if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) continue;
    self_seen = self_seen || m.last.member_id == view.self_id;
    members.emplace_back(m.last.member_id, url);
  }
  if (!self_seen && !view.self_url.empty()) members.emplace_back(view.self_id, view.self_url);
  if (members.empty()) return serve_here(r, req, params, e);
  auto g = std::make_shared<gathering>();
  g->req = req;
  g->kind = *gather_of(r.path);
  g->limit = gather_limit(req);
  g->left = members.size();
  for (const auto& [id, url] : members) g->parts.push_back(member_part{id, false, {}, {}});
  const auto& h = req->header();
  for (std::size_t i = 0; i < members.size(); ++i) {
    forward_request fr;
    fr.method = "GET";
    auto base = std::string_view(members[i].second);
    while (!base.empty() && base.back() == '/') base.remove_suffix(1);
    fr.url = std::string(base) + std::string(h.request_target());
    h.for_each_field([&fr](const auto& f) {
      fr.headers.emplace_back(std::string(f.name()), std::string(f.value()));
    });
    fr.timeout = view.gather_wait;
    fr.local_only = true;
    forward_handlers handlers;
    handlers.done = [g, i](forward_answer a) { part_done(g, i, std::move(a)); };
    e.cluster->forward->send(std::move(fr), std::move(handlers));
  }
  return restinio::request_accepted();
}

/// Every route: the body's size, then in cluster mode a request of a partition goes where that
/// partition is served, a node-wide read is gathered from every member; everything else is
/// served here.
handling_t serve(const route& r, const request_t& req, params_t params,
                 const std::shared_ptr<const edge>& e) {
  auto max_body = r.artifact_body ? e->opts.max_artifact_bytes : e->opts.max_body_bytes;
  if (req->body().size() > max_body)
    return reply_error(req, errc::payload_too_large,
                       "request body larger than " + std::to_string(max_body) + " bytes");
  const auto& view = e->node.cluster;
  auto rule = e->cluster && view && view->table ? rule_of(r.method.c_str(), r.path)
                                                : partition_rule::none;
  if (rule == partition_rule::none) return serve_here(r, req, params, *e);
  bool forwarded = fields_of(req, forwarded_header, ", ").has_value();
  // a member's part of a node-wide read, or one already forwarded: this node's own answer
  if (rule == partition_rule::gather &&
      (forwarded || fields_of(req, local_header, ", ").has_value()))
    return serve_here(r, req, params, *e);
  // who calls is checked first, so that nobody without a token makes this node forward
  if (user_route(r.who))
    if (auto who = authenticate(req, e->node, role_of(r.who)); std::holds_alternative<response>(who))
      return reply(req, std::get<response>(who));
  if (rule == partition_rule::gather) return gather_members(r, req, params, *e);
  auto decoded = [&params](const char* name) {
    auto raw = params[name];
    return pipeline::percent_decode(raw).value_or(std::string(raw));
  };
  int k = -1;
  if (rule == partition_rule::build) {
    k = partition_of_build(decoded("id"), view->partitions);
  } else if (rule == partition_rule::webhook) {
    // the token's pipeline, from the catalog every node keeps (by the token's digest)
    auto owner = view->webhook_pipeline ? view->webhook_pipeline(decoded("token")) : "";
    k = partition_of_request(rule, owner, view->partitions);
  } else {
    k = partition_of_request(rule, rule == partition_rule::pipeline ? decoded("p") : "",
                             view->partitions);
  }
  if (k < 0) return serve_here(r, req, params, *e);
  auto c = std::make_shared<cluster_request>();
  c->r = &r;
  c->req = req;
  c->params = std::move(params);
  c->e = e;
  c->k = k;
  c->forwarded = forwarded;
  c->deadline = std::chrono::steady_clock::now() + view->move_wait;
  dispatch(c);
  return restinio::request_accepted();
}

}  // namespace

std::shared_ptr<proto::event_sink> sse_streams::open(restinio::request_handle_t req) {
  auto s = std::make_shared<sse_stream>(std::move(req));
  std::lock_guard<std::mutex> lock(mu_);
  streams_.push_back(s);
  return s;
}

void sse_streams::ping_all() {
  std::vector<std::shared_ptr<proto::event_sink>> live;
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (const auto& w : streams_)
      if (auto s = w.lock()) live.push_back(std::move(s));
  }
  std::vector<const proto::event_sink*> over;
  for (const auto& s : live)
    if (!std::static_pointer_cast<sse_stream>(s)->ping()) over.push_back(s.get());
  std::lock_guard<std::mutex> lock(mu_);
  streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                [&](const std::weak_ptr<proto::event_sink>& w) {
                                  auto s = w.lock();
                                  return !s || std::find(over.begin(), over.end(), s.get()) !=
                                                   over.end();
                                }),
                 streams_.end());
}

/// The gate's decision on a complete head, before any of the body is read: routes anyone may
/// use take small bodies, webhooks take bodies from anyone (the node checks them), every other
/// route only with a valid token (the role is checked later, by the route); a path no route has
/// gets its 404 at once.
verdict head_verdict(const request_head& h, const std::string& secret, const server_options& opts) {
  verdict v{std::nullopt, opts.max_body_bytes};
  if (!h.has_body()) return v;
  const auto* r = route_for(h.method, h.path());
  if (r == nullptr) {
    v.refuse = refusal{errc::not_found, "no route for " + std::string(h.path())};
  } else if (r->who == access::anyone) {
    v.max_body_bytes = opts.max_login_body_bytes;
  } else if (r->who != access::checked) {
    if (r->artifact_body) v.max_body_bytes = opts.max_artifact_bytes;
    credentials c{h.authorization, std::nullopt, std::nullopt,
                  h.method != "GET" && h.method != "HEAD"};
    if (user_route(r->who)) {
      c.cookie = h.cookie;
      c.csrf = h.csrf_token;
    }
    auto who = token_claims(c, secret);
    if (auto* no = std::get_if<refusal>(&who)) v.refuse = std::move(*no);
  }
  return v;
}

std::unique_ptr<router_t> make_router(node_view node, const server_options& opts,
                                      std::shared_ptr<sse_streams> streams,
                                      std::shared_ptr<cluster_edge> cluster) {
  auto router = std::make_unique<router_t>();
  auto shared = std::make_shared<const edge>(edge{std::move(node), opts,
                                                  std::make_shared<auth::login_throttle>(),
                                                  std::move(streams), std::move(cluster), {}});
  std::map<std::string, std::vector<restinio::http_method_id_t>> methods;
  for (const auto& r : routes()) {
    methods[r.path].push_back(r.method);
    router->add_handler(r.method, r.path, [shared, &r](const request_t& req, params_t params) {
      return serve(r, req, std::move(params), shared);
    });
  }
  for (const auto& [path, allowed] : methods) {
    restinio::router::dynamic_none_of_methods_matcher_t others;
    for (const auto& m : allowed) others.add(m);
    router->add_handler(std::move(others), path, method_not_allowed);
  }
  router->non_matched_request_handler([](const request_t& req) {
    if (req->header().path() == refusal_path) return reply_refusal(req);
    if (auto ui = serve_ui(req)) return *ui;
    return reply_error(req, errc::not_found, "no route for " + std::string(req->header().path()));
  });
  return router;
}

}  // namespace pikoci::http
