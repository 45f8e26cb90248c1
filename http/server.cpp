#include "http/server.hpp"

#include <algorithm>
#include <atomic>
#include <cctype>
#include <condition_variable>
#include <future>
#include <map>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <tuple>

#include <spdlog/spdlog.h>
#include <restinio/all.hpp>

#include "actors/model/notification.hpp"
#include "build_info.hpp"
#include "config/pipeline/names.hpp"
#include "http/errors.hpp"

namespace pikoci::http {
namespace {

using router_t = restinio::router::express_router_t<>;
using traits_t =
    restinio::traits_t<restinio::asio_timer_manager_t, restinio::null_logger_t, router_t>;
using request_t = restinio::request_handle_t;
using params_t = restinio::router::route_params_t;
using handling_t = restinio::request_handling_status_t;
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
    std::lock_guard<std::mutex> lock(mu_);
    std::string out =
        "# HELP pikoci_http_requests_total HTTP requests answered, by method, route and code.\n"
        "# TYPE pikoci_http_requests_total counter\n";
    for (const auto& [k, n] : counts_)
      out += "pikoci_http_requests_total{method=\"" + std::get<0>(k) + "\",route=\"" +
             std::get<1>(k) + "\",code=\"" + std::to_string(std::get<2>(k)) + "\"} " +
             std::to_string(n) + "\n";
    return out;
  }

 private:
  std::mutex mu_;
  std::map<std::tuple<std::string, std::string, int>, std::uint64_t> counts_;
};

request_counter& requests() {
  static request_counter c;
  return c;
}

void write(const request_t& req, const api::response& r) {
  requests().count(std::string(req->header().method().c_str()), route_of(req->header().path()),
                   r.status);
  auto resp = req->create_response(restinio::http_status_line_t{
      restinio::http_status_code_t{static_cast<std::uint16_t>(r.status)}, ""});
  for (const auto& [k, v] : r.headers) resp.append_header(k, v);
  if (!r.raw.empty()) {
    resp.set_body(r.raw);
  } else if (!r.body.is_null()) {
    resp.append_header(restinio::http_field::content_type, "application/json");
    resp.set_body(r.body.dump() + "\n");
  }
  resp.done();
}

/// One Server-Sent Events subscriber: a chunked response on its connection. Events go out as
/// they are pushed, from any thread, without waiting for the socket; the bytes handed to the
/// connection and not yet written are counted, and a subscriber more than `max_pending` behind
/// is cut off (its response ends; it may reconnect: the build's events are replayed).
class sse_stream final : public api::event_sink {
 public:
  static constexpr std::size_t max_pending = 8 * 1024 * 1024;

  explicit sse_stream(request_t req) : req_(std::move(req)) {}
  ~sse_stream() override { close(); }

  bool push(const std::string& type, const std::string& data) override {
    return send("event: " + type + "\ndata: " + data + "\n\n");
  }
  void close() override {
    std::lock_guard<std::mutex> lock(mu_);
    end();
  }
  /// The node accepted the subscription: headers go out now if no event did.
  void opened() {
    requests().count("GET", route_of(req_->header().path()), 200);
    send(": stream open\n\n");
  }
  /// A comment line: keeps an idle stream (and any proxy) from timing out and finds subscribers
  /// that are gone. False once the stream is over.
  bool ping() { return send(": ping\n\n"); }

 private:
  struct flow {
    std::atomic<std::size_t> pending{0};
    std::atomic<bool> broken{false};
  };
  using builder_t = restinio::response_builder_t<restinio::chunked_output_t>;

  bool send(std::string text) {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_) return false;
    if (flow_->broken) {
      end();
      return false;
    }
    if (flow_->pending + text.size() > max_pending) {
      spdlog::warn("event=sse.cut_off path={} pending_bytes={}", req_->header().path(),
                   flow_->pending.load());
      start().append_chunk(": cut off: the subscriber fell too far behind\n\n");
      end();
      return false;
    }
    auto size = text.size();
    flow_->pending += size;
    start().append_chunk(std::move(text));
    resp_->flush([f = flow_, size](const asio::error_code& ec) {
      f->pending -= size;
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
    }
    return *resp_;
  }
  void end() {
    if (done_) return;
    done_ = true;
    if (resp_) resp_->done();
  }

  request_t req_;
  std::mutex mu_;
  std::optional<builder_t> resp_;
  bool done_ = false;
  std::shared_ptr<flow> flow_ = std::make_shared<flow>();
};

/// The open streams, pinged every `interval` by the server's pinger thread.
class sse_streams {
 public:
  static constexpr std::chrono::seconds interval{10};

  std::shared_ptr<sse_stream> open(request_t req) {
    auto s = std::make_shared<sse_stream>(std::move(req));
    std::lock_guard<std::mutex> lock(mu_);
    streams_.push_back(s);
    return s;
  }
  void ping_all() {
    std::vector<std::shared_ptr<sse_stream>> live;
    {
      std::lock_guard<std::mutex> lock(mu_);
      for (const auto& w : streams_)
        if (auto s = w.lock()) live.push_back(std::move(s));
    }
    std::vector<const sse_stream*> over;
    for (const auto& s : live)
      if (!s->ping()) over.push_back(s.get());
    std::lock_guard<std::mutex> lock(mu_);
    streams_.erase(std::remove_if(streams_.begin(), streams_.end(),
                                  [&](const std::weak_ptr<sse_stream>& w) {
                                    auto s = w.lock();
                                    return !s || std::find(over.begin(), over.end(), s.get()) !=
                                                     over.end();
                                  }),
                   streams_.end());
  }

 private:
  std::mutex mu_;
  std::vector<std::weak_ptr<sse_stream>> streams_;
};

handling_t reply(const request_t& req, const api::response& r) {
  write(req, r);
  return restinio::request_accepted();
}

handling_t reply_error(const request_t& req, errc e, const std::string& message) {
  return reply(req, api::fail(e, message));
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
  std::function<api::event_sink_ptr()> open_stream;  // for the SSE routes
  std::string param(const char* name) const { return std::string(params[name]); }
};

/// What a route makes of its input: a request for the node, or an answer right away (400).
using parsed = std::variant<api::request, api::response>;
using parse_fn = std::function<parsed(const input&)>;

api::response bad(const std::string& message) {
  return api::fail(errc::bad_request, message);
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

parsed list_builds(const input& in, std::string pipeline, std::string job) {
  std::string error;
  auto limit = limit_of(in, error);
  auto statuses = statuses_of(in, error);
  if (!limit || !statuses) return bad(error);
  return api::list_builds{std::move(pipeline), std::move(job), std::move(*statuses), *limit};
}

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
  for (const auto& [k, x] : v.items()) {
    if (x.is_string()) {
      out[k] = x.get<std::string>();
    } else if (x.is_number() || x.is_boolean()) {
      out[k] = x.dump();
    } else {
      error = std::string(field) + "." + k + " must be a string, number or bool";
      return std::nullopt;
    }
  }
  return out;
}

parsed trigger_job(const input& in) {
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
  return api::trigger_job{in.param("p"), in.param("j"), std::move(*inputs), std::move(args)};
}

parsed set_pipeline(const input& in) {
  if (!pipeline::is_valid_name(in.param("p")))
    return bad(std::string("invalid pipeline name: ") + pipeline::name_rule);
  if (!in.body.contains("config") || !in.body["config"].is_string())
    return bad("config must be a string holding the pipeline's HCL");
  json vars = json::object();
  if (in.body.contains("vars")) {
    if (!in.body["vars"].is_object()) return bad("vars must be an object");
    vars = in.body["vars"];
  }
  return api::set_pipeline{in.param("p"), in.body["config"].get<std::string>(), std::move(vars)};
}

parsed set_concurrency(const input& in) {
  const auto& b = in.body;
  auto text = [&](const char* k) { return !b.contains(k) || b[k].is_string(); };
  if (!text("mode") || !text("group_template"))
    return bad("mode and group_template must be strings");
  if (b.contains("cancel_running") && !b["cancel_running"].is_boolean())
    return bad("cancel_running must be a boolean");
  return api::set_concurrency{in.param("p"), b.value("mode", std::string()),
                              b.value("group_template", std::string()),
                              b.value("cancel_running", false)};
}

parsed pin(const input& in) {
  const auto& v = in.body.contains("version_id") ? in.body["version_id"] : json();
  if (!v.is_number_integer()) return bad("version_id must be an integer");
  return api::pin_resource{in.param("p"), in.param("rc"), v.get<std::int64_t>()};
}

/// PUT /pipelines/{p}/webhooks/git {"secret"}: 1 to 256 bytes.
parsed set_git_webhook(const input& in) {
  const auto& s = in.body.contains("secret") ? in.body["secret"] : json();
  if (!s.is_string() || s.get_ref<const std::string&>().empty() ||
      s.get_ref<const std::string&>().size() > 256)
    return bad("secret must be a non-empty string of at most 256 bytes");
  return api::set_git_webhook{in.param("p"), s.get<std::string>()};
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
parsed list_notifications(const input& in) {
  std::string error;
  auto limit = limit_of(in, error);
  if (!limit) return bad(error);
  api::list_notifications req;
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

struct route {
  restinio::http_method_id_t method;
  const char* path;
  auth::role need;
  parse_fn parse;
};

const std::string P = "/api/v1/pipelines/:p";
const std::string J = P + "/jobs/:j";
const std::string B = J + "/builds/:n";
const std::string R = P + "/resources/:rc";

/// The paths of the routes that need a user token, in the order user_routes() uses them.
const std::vector<std::string>& user_paths() {
  static const std::vector<std::string> paths = {"/api/v1/pipelines",
                                                 P,
                                                 P + "/pause",
                                                 P + "/unpause",
                                                 P + "/jobs",
                                                 J,
                                                 J + "/trigger",
                                                 J + "/pause",
                                                 J + "/unpause",
                                                 J + "/builds",
                                                 B,
                                                 B + "/cancel",
                                                 B + "/retry",
                                                 P + "/resources",
                                                 R + "/check",
                                                 R + "/versions",
                                                 R + "/versions/:id/trigger",
                                                 R + "/pin",
                                                 R + "/unpin",
                                                 "/api/v1/builds",
                                                 "/api/v1/builds/:id",
                                                 "/api/v1/queue",
                                                 "/api/v1/workers",
                                                 P + "/concurrency",
                                                 "/api/v1/admin/export",
                                                 B + "/events",
                                                 "/api/v1/events",
                                                 "/api/v1/stats",
                                                 R + "/webhook-token",
                                                 P + "/webhooks/git",
                                                 "/api/v1/notifications",
                                                 "/api/v1/notifications/:id/retry"};
  return paths;
}

std::string route_of(std::string_view path) {
  static const std::vector<std::string> patterns = [] {
    std::vector<std::string> all = user_paths();
    for (const char* p : {"/api/v1/health", "/api/v1/version", "/api/v1/login",
                          "/api/v1/webhooks/:token", "/api/v1/workers/register", "/metrics"})
      all.push_back(p);
    return all;
  }();
  auto split = [](std::string_view s) {
    std::vector<std::string_view> parts;
    while (!s.empty()) {
      auto slash = s.find('/', 1);
      parts.push_back(s.substr(0, slash));
      s = slash == std::string_view::npos ? std::string_view() : s.substr(slash);
    }
    return parts;
  };
  auto parts = split(path);
  for (const auto& pattern : patterns) {
    auto want = split(pattern);
    if (want.size() != parts.size()) continue;
    bool match = true;
    for (std::size_t i = 0; match && i < want.size(); ++i)
      match = want[i].substr(0, 2) == "/:" || want[i] == parts[i];
    if (match) return pattern;
  }
  return "other";
}

/// The routes that need a user token (SPEC §3.1), with the role each needs.
std::vector<route> user_routes() {
  using auth::role;
  auto get = restinio::http_method_get();
  auto post = restinio::http_method_post();
  auto put = restinio::http_method_put();
  auto del = restinio::http_method_delete();
  auto at = [](std::size_t i) { return user_paths().at(i).c_str(); };
  // by path rather than index, so routes added at the same time do not collide
  auto named = [](const std::string& path) {
    const auto& all = user_paths();
    auto it = std::find(all.begin(), all.end(), path);
    if (it == all.end()) throw std::logic_error(path + " is missing from user_paths()");
    return it->c_str();
  };
  return {
      {get, at(0), role::read, [](const input&) -> parsed { return api::list_pipelines{}; }},
      {put, at(1), role::admin, set_pipeline},
      {get, at(1), role::read,
       [](const input& in) -> parsed { return api::get_pipeline{in.param("p")}; }},
      {del, at(1), role::admin,
       [](const input& in) -> parsed { return api::delete_pipeline{in.param("p")}; }},
      {post, at(2), role::write,
       [](const input& in) -> parsed {
         return api::pause_pipeline{in.param("p"), true};
       }},
      {post, at(3), role::write,
       [](const input& in) -> parsed {
         return api::pause_pipeline{in.param("p"), false};
       }},
      {get, at(4), role::read,
       [](const input& in) -> parsed { return api::list_jobs{in.param("p")}; }},
      {get, at(5), role::read,
       [](const input& in) -> parsed {
         return api::get_job{in.param("p"), in.param("j")};
       }},
      {post, at(6), role::write, trigger_job},
      {post, at(7), role::write,
       [](const input& in) -> parsed {
         return api::pause_job{in.param("p"), in.param("j"), true};
       }},
      {post, at(8), role::write,
       [](const input& in) -> parsed {
         return api::pause_job{in.param("p"), in.param("j"), false};
       }},
      {get, at(9), role::read,
       [](const input& in) { return list_builds(in, in.param("p"), in.param("j")); }},
      {get, at(10), role::read,
       [](const input& in) -> parsed {
         return api::get_build{in.param("p"), in.param("j"), in.param("n"), 0};
       }},
      {post, at(11), role::write,
       [](const input& in) -> parsed {
         return api::cancel_build{in.param("p"), in.param("j"), in.param("n"), in.who.subject};
       }},
      {post, at(12), role::write,
       [](const input& in) -> parsed {
         return api::retry_build{in.param("p"), in.param("j"), in.param("n")};
       }},
      {get, at(13), role::read,
       [](const input& in) -> parsed { return api::list_resources{in.param("p")}; }},
      {post, at(14), role::write,
       [](const input& in) -> parsed {
         return api::check_resource{in.param("p"), in.param("rc")};
       }},
      {get, at(15), role::read,
       [](const input& in) -> parsed {
         std::string error;
         auto limit = limit_of(in, error);
         if (!limit) return bad(error);
         return api::list_versions{in.param("p"), in.param("rc"), *limit};
       }},
      {post, at(16), role::write,
       [](const input& in) -> parsed {
         auto id = integer(in.param("id"));
         if (!id) return api::fail(errc::not_found, "version \"" + in.param("id") + "\" not found");
         return api::trigger_version{in.param("p"), in.param("rc"), *id};
       }},
      {post, at(17), role::write, pin},
      {post, at(18), role::write,
       [](const input& in) -> parsed {
         return api::pin_resource{in.param("p"), in.param("rc"), std::nullopt};
       }},
      {get, at(19), role::read, [](const input& in) { return list_builds(in, "", ""); }},
      {get, at(20), role::read,
       [](const input& in) -> parsed {
         auto id = integer(in.param("id"));
         if (!id) return api::fail(errc::not_found, "build \"" + in.param("id") + "\" not found");
         return api::get_build{"", "", "", *id};
       }},
      {get, at(21), role::read, [](const input&) -> parsed { return api::get_queue{}; }},
      {get, at(22), role::read, [](const input&) -> parsed { return api::list_workers{}; }},
      {put, at(23), role::admin, set_concurrency},
      {get, at(24), role::admin, [](const input&) -> parsed { return api::export_store{}; }},
      {get, at(25), role::read,
       [](const input& in) -> parsed {
         return api::watch_build{in.param("p"), in.param("j"), in.param("n"), in.open_stream()};
       }},
      {get, at(26), role::read,
       [](const input& in) -> parsed { return api::watch_events{in.open_stream()}; }},
      {get, named("/api/v1/stats"), role::read,
       [](const input&) -> parsed { return api::get_stats{}; }},
      {post, named(R + "/webhook-token"), role::write,
       [](const input& in) -> parsed {
         return api::regenerate_webhook_token{in.param("p"), in.param("rc")};
       }},
      // its POST needs no token: the pipeline checks the delivery's signature (make_router)
      {put, named(P + "/webhooks/git"), role::admin, set_git_webhook},
      {del, named(P + "/webhooks/git"), role::admin,
       [](const input& in) -> parsed {
         return api::set_git_webhook{in.param("p"), std::nullopt};
       }},
      {get, named("/api/v1/notifications"), role::read, list_notifications},
      {post, named("/api/v1/notifications/:id/retry"), role::write,
       [](const input& in) -> parsed { return api::retry_notification{in.param("id")}; }},
  };
}

/// Who is calling: the verified claims, or the 401/403 answer.
std::variant<auth::claims, api::response> authenticate(const request_t& req, const node_view& node,
                                                       auth::role need) {
  const auto& h = req->header();
  if (!h.has_field(restinio::http_field::authorization))
    return api::fail(errc::unauthenticated, "missing Authorization: Bearer <token>");
  auto bearer = auth::parse_bearer(h.get_field(restinio::http_field::authorization));
  if (!bearer) return api::fail(errc::unauthenticated, bearer.error);
  auto verified = auth::verify(node.jwt_secret, *bearer.token, unix_now());
  if (!verified) return api::fail(errc::unauthenticated, verified.error);
  const auto& c = *verified.ok;
  if (c.worker)
    return api::fail(errc::forbidden, "worker tokens are accepted only on worker routes");
  if (!auth::allows(c.r, need))
    return api::fail(errc::forbidden, "this needs the " + std::string(auth::to_string(need)) +
                                          " role; the token has " +
                                          std::string(auth::to_string(c.r)));
  return c;
}

/// The body as a JSON object (`{}` when empty), or the 400 answer.
std::variant<json, api::response> json_body(const request_t& req) {
  const auto& text = req->body();
  if (text.empty()) return json::object();
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded()) return bad("request body is not valid JSON");
  if (!j.is_object()) return bad("request body must be a JSON object");
  return j;
}

/// The stream of a watch request (null for the others).
std::shared_ptr<sse_stream> stream_of(const api::request& r) {
  api::event_sink_ptr sink;
  if (auto* w = std::get_if<api::watch_build>(&r)) sink = w->sink;
  if (auto* w = std::get_if<api::watch_events>(&r)) sink = w->sink;
  return std::static_pointer_cast<sse_stream>(sink);
}

/// Hands a parsed request to the node; the answer is written when it comes (a watch request's
/// stream is already open unless the answer is an error).
handling_t forward(const request_t& req, const node_view& node, api::request r) {
  auto stream = stream_of(r);
  node.call(std::move(r), [req, stream](api::response resp) {
    if (stream && !api::is_error(resp)) {
      stream->opened();
    } else {
      write(req, resp);
    }
  });
  return restinio::request_accepted();
}

/// POST /login: PBKDF2 costs tens of milliseconds, so it runs off the I/O thread; a handful at
/// once at most.
handling_t login(const request_t& req, const node_view& node, std::int64_t ttl) {
  static std::atomic<int> in_progress{0};
  auto body = json_body(req);
  if (auto* r = std::get_if<api::response>(&body)) return reply(req, *r);
  auto& j = std::get<json>(body);
  if (!j.contains("username") || !j["username"].is_string() || !j.contains("password") ||
      !j["password"].is_string())
    return reply(req, bad("username and password must be strings"));
  if (in_progress.fetch_add(1) >= 8) {
    --in_progress;
    auto r = api::fail(errc::queue_full, "too many logins in progress");
    r.headers.emplace_back("Retry-After", "1");
    return reply(req, r);
  }
  std::thread([req, users = node.users, secret = node.jwt_secret, ttl,
               user = j["username"].get<std::string>(), pass = j["password"].get<std::string>()] {
    auto c = users->login(user, pass, unix_now(), ttl);
    if (!c) {
      write(req, api::fail(errc::unauthenticated, "wrong username or password"));
    } else {
      write(req, api::ok({{"token", auth::sign(secret, *c)},
                          {"role", std::string(auth::to_string(c->r))}}));
    }
    --in_progress;
  }).detach();
  return restinio::request_accepted();
}

handling_t method_not_allowed(const request_t& req, params_t) {
  return reply_error(req, errc::method_not_allowed,
                     "method not allowed on " + std::string(req->header().path()));
}

/// The one route table (SPEC §3.1). Known paths answer 405 for other methods.
std::unique_ptr<router_t> make_router(node_view node, const server_options& opts,
                                      std::shared_ptr<sse_streams> streams) {
  auto router = std::make_unique<router_t>();
  auto shared = std::make_shared<node_view>(std::move(node));
  auto max_body = opts.max_body_bytes;
  auto too_big = [max_body](const request_t& req) { return req->body().size() > max_body; };
  auto too_big_reply = [max_body](const request_t& req) {
    return reply_error(req, errc::payload_too_large,
                       "request body larger than " + std::to_string(max_body) + " bytes");
  };

  std::map<std::string, std::vector<restinio::http_method_id_t>> methods;
  auto allow = [&](const std::string& path, restinio::http_method_id_t m) {
    methods[path].push_back(m);
  };

  router->http_get("/api/v1/health", [=](const request_t& req, params_t) {
    if (too_big(req)) return too_big_reply(req);
    return reply(req, api::ok(shared->health()));
  });
  allow("/api/v1/health", restinio::http_method_get());
  router->http_get("/api/v1/version", [=](const request_t& req, params_t) {
    if (too_big(req)) return too_big_reply(req);
    return reply(req, api::ok({{"version", build_info::version}, {"commit", build_info::commit}}));
  });
  allow("/api/v1/version", restinio::http_method_get());
  router->http_post("/api/v1/login", [=](const request_t& req, params_t) {
    if (too_big(req)) return too_big_reply(req);
    return login(req, *shared, opts.login_ttl_seconds);
  });
  allow("/api/v1/login", restinio::http_method_post());
  router->http_post("/api/v1/webhooks/:token", [=](const request_t& req, params_t params) {
    if (too_big(req)) return too_big_reply(req);
    return forward(req, *shared, api::webhook{std::string(params["token"])});
  });
  allow("/api/v1/webhooks/:token", restinio::http_method_post());
  // git push webhooks: no token; the pipeline, which holds the secret, checks the signature over
  // the raw body (docs/webhooks.md)
  router->http_post(P + "/webhooks/git", [=](const request_t& req, params_t params) {
    if (too_big(req)) return too_big_reply(req);
    api::git_webhook hook;
    hook.pipeline = std::string(params["p"]);
    hook.body = req->body();
    req->header().for_each_field([&hook](const auto& f) {
      std::string name(f.name());
      for (auto& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto& v = hook.headers[name];
      v = v.empty() ? std::string(f.value()) : v + ", " + std::string(f.value());
    });
    try {
      auto query =
          restinio::parse_query<restinio::parse_query_traits::relaxed>(req->header().query());
      for (const auto& [k, v] : query) hook.query[std::string(k)] = std::string(v);
    } catch (const std::exception& e) {
      return reply_error(req, errc::bad_request, std::string("bad query: ") + e.what());
    }
    return forward(req, *shared, std::move(hook));
  });
  allow(P + "/webhooks/git", restinio::http_method_post());
  // Prometheus: no token (SPEC §3); the node's figures plus this edge's request counters
  router->http_get("/metrics", [=](const request_t& req, params_t) {
    if (too_big(req)) return too_big_reply(req);
    shared->call(api::get_metrics{}, [req](api::response r) {
      if (r.status == 200) r.raw += requests().text();
      write(req, r);
    });
    return restinio::request_accepted();
  });
  allow("/metrics", restinio::http_method_get());
  // the one worker route: a worker token only (user tokens get 403)
  router->http_post("/api/v1/workers/register", [=](const request_t& req, params_t) {
    if (too_big(req)) return too_big_reply(req);
    const auto& h = req->header();
    if (!h.has_field(restinio::http_field::authorization))
      return reply_error(req, errc::unauthenticated, "missing Authorization: Bearer <token>");
    auto bearer = auth::parse_bearer(h.get_field(restinio::http_field::authorization));
    if (!bearer) return reply_error(req, errc::unauthenticated, bearer.error);
    auto verified = auth::verify(shared->jwt_secret, *bearer.token, unix_now());
    if (!verified) return reply_error(req, errc::unauthenticated, verified.error);
    if (!verified.ok->worker)
      return reply_error(req, errc::forbidden, "this route needs a worker token");
    auto hello = shared->worker_hello ? shared->worker_hello() : json(nullptr);
    if (hello.is_null())
      return reply_error(req, errc::conflict,
                         "this server has no remote workers (--pubsub-system mem)");
    return reply(req, api::ok(std::move(hello)));
  });
  allow("/api/v1/workers/register", restinio::http_method_post());

  for (auto& r : user_routes()) {
    allow(r.path, r.method);
    router->add_handler(r.method, r.path, [=](const request_t& req, params_t params) {
      if (too_big(req)) return too_big_reply(req);
      auto who = authenticate(req, *shared, r.need);
      if (auto* denied = std::get_if<api::response>(&who)) return reply(req, *denied);
      auto body = json_body(req);
      if (auto* b = std::get_if<api::response>(&body)) return reply(req, *b);
      try {
        input in{
            params,
            restinio::parse_query<restinio::parse_query_traits::relaxed>(req->header().query()),
            std::move(std::get<json>(body)), std::get<auth::claims>(who),
            [streams, req] { return streams->open(req); }};
        auto p = r.parse(in);
        if (auto* answer = std::get_if<api::response>(&p)) return reply(req, *answer);
        return forward(req, *shared, std::move(std::get<api::request>(p)));
      } catch (const std::exception& e) {  // a malformed query string
        return reply_error(req, errc::bad_request, std::string("bad query: ") + e.what());
      }
    });
  }
  for (const auto& [path, allowed] : methods) {
    restinio::router::dynamic_none_of_methods_matcher_t others;
    for (const auto& m : allowed) others.add(m);
    router->add_handler(std::move(others), path, method_not_allowed);
  }
  router->non_matched_request_handler([](const request_t& req) {
    return reply_error(req, errc::not_found, "no route for " + std::string(req->header().path()));
  });
  return router;
}

class restinio_server final : public server {
 public:
  restinio_server(const server_options& opts, node_view node) {
    std::promise<std::uint16_t> bound;
    auto bound_future = bound.get_future();
    auto settings =
        restinio::server_settings_t<traits_t>{}
            .address(opts.host)
            .port(opts.port)
            .request_handler(make_router(std::move(node), opts, streams_))
            .read_next_http_message_timelimit(std::chrono::seconds(30))
            .handle_request_timeout(std::chrono::seconds(30))
            .max_pipelined_requests(16)
            .acceptor_post_bind_hook(
                [p = std::make_shared<std::promise<std::uint16_t>>(std::move(bound))](
                    asio::ip::tcp::acceptor& a) { p->set_value(a.local_endpoint().port()); });
    try {
      running_ = restinio::run_async<traits_t>(restinio::own_io_context(), std::move(settings), 1);
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot listen on " + opts.host + ":" + std::to_string(opts.port) +
                               ": " + e.what());
    }
    port_ = bound_future.get();
    pinger_ = std::thread([this] {
      std::unique_lock<std::mutex> lock(stop_mu_);
      while (!stop_cv_.wait_for(lock, sse_streams::interval, [this] { return stopped_.load(); }))
        streams_->ping_all();
    });
  }
  ~restinio_server() override { stop(); }

  std::uint16_t port() const override { return port_; }

  void stop() override {
    {
      std::lock_guard<std::mutex> lock(stop_mu_);
      if (stopped_.exchange(true)) return;
    }
    stop_cv_.notify_all();
    if (pinger_.joinable()) pinger_.join();
    running_->stop();
    running_->wait();
  }

 private:
  std::shared_ptr<sse_streams> streams_ = std::make_shared<sse_streams>();
  restinio::running_server_handle_t<traits_t> running_;
  std::thread pinger_;
  std::mutex stop_mu_;
  std::condition_variable stop_cv_;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopped_{false};
};

}  // namespace

std::unique_ptr<server> start_server(const server_options& opts, node_view node) {
  return std::make_unique<restinio_server>(opts, std::move(node));
}

}  // namespace pikoci::http
