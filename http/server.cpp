#include "http/server.hpp"

#include <dirent.h>
#include <poll.h>
#include <sys/resource.h>
#include <unistd.h>

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
#include "config/pipeline/json_decode.hpp"
#include "config/pipeline/utf8.hpp"
#include "config/pipeline/names.hpp"
#include "domain/metrics.hpp"
#include "http/errors.hpp"
#include "http/request_gate.hpp"

namespace pikoci::http {
namespace {

using router_t = restinio::router::express_router_t<>;
using request_t = restinio::request_handle_t;
using params_t = restinio::router::route_params_t;
using handling_t = restinio::request_handling_status_t;
using nlohmann::json;
using acceptor_iface = restinio::connection_count_limits::impl::acceptor_callback_iface_t;

/// Open file descriptors of this process (for log lines about running out of them); -1 when
/// they cannot be counted (no descriptor left to open the directory with).
long open_fds() {
  long n = 0;
  DIR* d = opendir("/proc/self/fd");
  if (d == nullptr) return -1;
  while (readdir(d) != nullptr) ++n;
  closedir(d);
  return n > 3 ? n - 3 : 0;  // ".", ".." and the directory itself
}

/// RESTinio's connection count limiter (at most `max` connections; further ones wait in the
/// listen backlog until one closes), plus what RESTinio's acceptor lacks: when accept() fails
/// (EMFILE, ENFILE, ENOBUFS) the acceptor drops the error and never accepts again. This limiter
/// knows when an accept is outstanding, so the server's watchdog can see connections waiting in
/// the backlog while no accept makes progress, and start another (`rearm`).
class accept_limiter {
 public:
  struct snapshot {
    bool accepting = false;      // an accept is outstanding (not parked at the cap)
    std::uint64_t accepted = 0;  // connections made so far
  };

  accept_limiter(restinio::not_null_pointer_t<acceptor_iface> acceptor,
                 restinio::connection_count_limits::max_parallel_connections_t max,
                 restinio::connection_count_limits::max_active_accepts_t)
      : acceptor_(acceptor), max_(std::max<std::size_t>(1, max.value())) {
    std::lock_guard<std::mutex> lock(registry_mu());
    registry() = this;
  }
  ~accept_limiter() {
    std::lock_guard<std::mutex> lock(registry_mu());
    if (registry() == this) registry() = nullptr;
  }
  accept_limiter(const accept_limiter&) = delete;
  accept_limiter& operator=(const accept_limiter&) = delete;

  /// The live limiter (one HTTP server per process) and the mutex guarding its lifetime.
  static accept_limiter*& registry() {
    static accept_limiter* live = nullptr;
    return live;
  }
  static std::mutex& registry_mu() {
    static std::mutex mu;
    return mu;
  }

  // ---- RESTinio's limiter interface (connection_count_limits::impl::actual_limiter_t)

  /// An accept made a connection.
  void increment_parallel_connections() noexcept {
    std::lock_guard<std::mutex> lock(mu_);
    accepting_.reset();
    ++connections_;
    ++accepted_;
  }
  /// A connection ended (any thread): a parked accept may go on.
  void decrement_parallel_connections() noexcept {
    std::optional<std::size_t> resume;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (connections_ > 0) --connections_;
      if (!waiting_.empty() && has_room()) {
        resume = waiting_.back();
        waiting_.pop_back();
      }
    }
    if (resume) acceptor_->schedule_next_accept_attempt(*resume);
  }
  /// The acceptor wants to accept on socket slot `index` (its I/O thread).
  void accept_next(std::size_t index) noexcept {
    bool now = false, log_cap = false;
    std::size_t connections = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      // An accept that ends without a connection (the peer reset before we looked) comes back
      // here without increment_parallel_connections.
      if (accepting_ == index) accepting_.reset();
      if (has_room()) {
        accepting_ = index;
        now = true;
      } else {
        waiting_.push_back(index);
        auto t = std::chrono::steady_clock::now();
        if (t - last_cap_log_ > std::chrono::seconds(10)) {
          last_cap_log_ = t;
          log_cap = true;
          connections = connections_;
        }
      }
    }
    if (now) {
      acceptor_->call_accept_now(index);
    } else if (log_cap) {
      spdlog::warn(
          "event=http.connection_limit_reached max_connections={} connections={} (new "
          "connections wait in the listen backlog until one closes)",
          max_, connections);
    }
  }

  // ---- the watchdog's side

  snapshot state() {
    std::lock_guard<std::mutex> lock(mu_);
    return {accepting_.has_value(), accepted_};
  }
  /// The outstanding accept failed silently: start another on the same slot (posted to the
  /// acceptor's I/O thread).
  void rearm() {
    std::optional<std::size_t> slot;
    {
      std::lock_guard<std::mutex> lock(mu_);
      slot = accepting_;
      accepting_.reset();
    }
    if (slot) acceptor_->schedule_next_accept_attempt(*slot);
  }

 private:
  bool has_room() const { return connections_ + (accepting_ ? 1 : 0) < max_; }

  acceptor_iface* acceptor_;
  const std::size_t max_;
  std::mutex mu_;
  std::size_t connections_ = 0;
  std::optional<std::size_t> accepting_;  // the slot of the outstanding accept
  std::vector<std::size_t> waiting_;      // slots parked at the cap
  std::uint64_t accepted_ = 0;
  std::chrono::steady_clock::time_point last_cap_log_{};
};

/// What every connection's gate is made of; set once by start_server (one server per process).
struct gate_setup {
  gate_limits limits;
  head_policy policy;
};
std::mutex gate_setup_mu;
std::shared_ptr<const gate_setup> current_gate_setup;

std::shared_ptr<const gate_setup> gate_setup_now() {
  std::lock_guard<std::mutex> lock(gate_setup_mu);
  return current_gate_setup;
}

/// Sockets kept open after a refusal, reading what the client still sends so that closing does
/// not reset the connection before the client has read the answer: at most this many at once,
/// each for at most `linger_time` and `linger_bytes`.
constexpr int max_lingering = 64;
constexpr auto linger_time = std::chrono::seconds(2);
constexpr std::size_t linger_bytes = 16 * 1024 * 1024;
std::atomic<int> lingering{0};

/// The stream socket of every connection (RESTinio's Traits::stream_socket_t): a TCP socket
/// whose input goes through a request_gate before RESTinio parses it.
class gated_socket {
 public:
  using socket_type = asio::ip::tcp::socket;
  using executor_type = socket_type::executor_type;

  explicit gated_socket(asio::io_context& io) : s_(io) {}
  gated_socket(gated_socket&&) = default;
  gated_socket& operator=(gated_socket&&) = default;

  socket_type& lowest_layer() { return s_; }
  const socket_type& lowest_layer() const { return s_; }
  executor_type get_executor() { return s_.get_executor(); }
  auto remote_endpoint() const { return s_.remote_endpoint(); }
  bool is_open() const { return s_.is_open(); }

  template <class... Args>
  void cancel(Args&&... args) {
    s_.cancel(std::forward<Args>(args)...);
  }
  template <class... Args>
  void shutdown(socket_type::shutdown_type how, Args&&... args) {
    // After a refusal the client may still be sending the body we refused: stop sending only,
    // and let close() read the rest, or the connection is reset before the answer is read.
    if (refused()) how = socket_type::shutdown_send;
    s_.shutdown(how, std::forward<Args>(args)...);
  }
  void close() {
    if (refused()) linger();
    s_.close();
  }

  template <class Handler>
  void async_read_some(asio::mutable_buffer buffer, Handler handler) {
    auto& in = input();
    if (in.at < in.out.size()) {
      auto n = take(buffer);
      auto ex = asio::get_associated_executor(handler, s_.get_executor());
      asio::post(ex, [h = std::move(handler), n]() mutable { h(asio::error_code{}, n); });
      return;
    }
    if (in.gate->broken()) {
      auto ex = asio::get_associated_executor(handler, s_.get_executor());
      asio::post(ex, [h = std::move(handler)]() mutable { h(asio::error::connection_reset, 0); });
      return;
    }
    s_.async_read_some(
        asio::buffer(in.scratch),
        [this, buffer, h = std::move(handler)](const asio::error_code& ec, std::size_t n) mutable {
          on_read(buffer, std::move(h), ec, n);
        });
  }
  template <class Buffers, class Handler>
  decltype(auto) async_write_some(const Buffers& buffers, Handler&& handler) {
    return s_.async_write_some(buffers, std::forward<Handler>(handler));
  }

 private:
  struct input_state {
    std::unique_ptr<request_gate> gate;
    std::vector<char> scratch = std::vector<char>(16 * 1024);
    std::string out;     // gated bytes RESTinio has not taken yet
    std::size_t at = 0;  // how much of `out` it took
  };

  input_state& input() {
    if (!in_) {
      in_ = std::make_unique<input_state>();
      auto setup = gate_setup_now();
      in_->gate = setup ? std::make_unique<request_gate>(setup->limits, setup->policy)
                        : std::make_unique<request_gate>(gate_limits{}, [](const request_head&) {
                            return verdict{std::nullopt, gate_limits{}.max_body_bytes};
                          });
    }
    return *in_;
  }
  bool refused() const { return in_ && in_->gate->refused(); }

  std::size_t take(asio::mutable_buffer buffer) {
    auto& in = *in_;
    auto n = std::min(buffer.size(), in.out.size() - in.at);
    std::memcpy(buffer.data(), in.out.data() + in.at, n);
    in.at += n;
    if (in.at == in.out.size()) {
      in.out.clear();
      in.at = 0;
      if (in.out.capacity() > 256 * 1024) in.out.shrink_to_fit();
    }
    return n;
  }

  template <class Handler>
  void on_read(asio::mutable_buffer buffer, Handler h, const asio::error_code& ec, std::size_t n) {
    auto finish = [this](Handler h, asio::error_code e, std::size_t k) {
      auto ex = asio::get_associated_executor(h, s_.get_executor());
      asio::dispatch(ex, [h = std::move(h), e, k]() mutable { h(e, k); });
    };
    if (ec) return finish(std::move(h), ec, 0);
    auto& in = *in_;
    bool was_refused = in.gate->refused();
    in.gate->feed(in.scratch.data(), n, in.out);
    if (!was_refused && (in.gate->refused() || in.gate->broken()))
      spdlog::debug("event=http.request_refused reason=\"{}\"", in.gate->reason());
    if (in.at < in.out.size()) return finish(std::move(h), {}, take(buffer));
    if (in.gate->broken()) return finish(std::move(h), asio::error::connection_reset, 0);
    // A head still incomplete, or input after a refusal (dropped): read on.
    async_read_some(buffer, std::move(h));
  }

  /// Keeps the connection open a little after a refusal (see max_lingering).
  void linger() {
    if (!s_.is_open() || lingering.fetch_add(1) >= max_lingering) {
      --lingering;
      return;
    }
    int fd = ::dup(s_.native_handle());
    asio::error_code ec;
    auto protocol = s_.local_endpoint(ec).protocol();
    if (fd < 0 || ec) {
      if (fd >= 0) ::close(fd);
      --lingering;
      return;
    }
    struct draining {
      socket_type s;
      asio::steady_timer timer;
      std::array<char, 16 * 1024> buf{};
      std::size_t left = linger_bytes;
      explicit draining(const executor_type& ex) : s(ex), timer(ex) {}
      ~draining() { --lingering; }
    };
    auto d = std::make_shared<draining>(s_.get_executor());
    d->s.assign(protocol, fd, ec);
    if (ec) {
      ::close(fd);
      return;
    }
    d->timer.expires_after(linger_time);
    d->timer.async_wait([d](const asio::error_code&) {
      asio::error_code ignored;
      d->s.close(ignored);
    });
    struct reader {
      std::shared_ptr<draining> d;
      void operator()(const asio::error_code& e, std::size_t n) const {
        if (e || n >= d->left) {
          d->timer.cancel();
          return;
        }
        d->left -= n;
        d->s.async_read_some(asio::buffer(d->buf), *this);
      }
    };
    d->s.async_read_some(asio::buffer(d->buf), reader{d});
  }

  socket_type s_;
  std::unique_ptr<input_state> in_;
};

/// RESTinio's connection start for a gated socket: nothing to prepare (no TLS handshake).
template <class Connection, class Start, class Failed>
void prepare_connection_and_start_read(gated_socket&, Connection&, Start start, Failed) {
  start();
}
/// Not a TLS socket (RESTinio's connection state listener asks).
restinio::tls_socket_t* make_tls_socket_pointer_for_state_listener(gated_socket&) noexcept {
  return nullptr;
}

/// The server's traits: gated sockets and the accept limiter above.
struct edge_traits : restinio::traits_t<restinio::asio_timer_manager_t, restinio::null_logger_t,
                                        router_t, restinio::default_strand_t, gated_socket> {
  static constexpr bool use_connection_count_limiter = true;
};

}  // namespace
}  // namespace pikoci::http

namespace restinio {
/// RESTinio picks its limiter through this trait; ours re-arms accepts that failed.
template <>
struct connection_count_limit_types<pikoci::http::edge_traits> {
  using limiter_t = pikoci::http::accept_limiter;
  using lifetime_monitor_t = connection_count_limits::connection_lifetime_monitor_t<limiter_t>;
};
}  // namespace restinio

namespace pikoci::http {
namespace {

using traits_t = edge_traits;

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
class sse_stream final : public api::event_sink {
 public:
  static constexpr std::size_t max_pending = 8 * 1024 * 1024;
  static constexpr std::size_t max_replay = 64 * 1024 * 1024;
  static constexpr std::size_t max_replay_total = 256 * 1024 * 1024;

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
  bool replaying_ = true;  // until opened()
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
    return api::fail(
        errc::payload_too_large,
        "inputs and args are larger than " + std::to_string(max_trigger_bytes) + " bytes together");
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

/// The claims of a verified token from an Authorization header value (nullopt: no header), or
/// the 401 answer. The gate asks before a body is read; routes ask again with the role.
std::variant<auth::claims, api::response> token_claims(
    const std::optional<std::string_view>& header, const std::string& secret) {
  if (!header) return api::fail(errc::unauthenticated, "missing Authorization: Bearer <token>");
  auto bearer = auth::parse_bearer(*header);
  if (!bearer) return api::fail(errc::unauthenticated, bearer.error);
  auto verified = auth::verify(secret, *bearer.token, unix_now());
  if (!verified) return api::fail(errc::unauthenticated, verified.error);
  return *verified.ok;
}

std::optional<std::string_view> authorization_of(const request_t& req) {
  const auto& h = req->header();
  if (!h.has_field(restinio::http_field::authorization)) return std::nullopt;
  return h.get_field(restinio::http_field::authorization);
}

/// Who is calling: the verified claims, or the 401/403 answer.
std::variant<auth::claims, api::response> authenticate(const request_t& req, const node_view& node,
                                                       auth::role need) {
  auto who = token_claims(authorization_of(req), node.jwt_secret);
  if (std::holds_alternative<api::response>(who)) return who;
  const auto& c = std::get<auth::claims>(who);
  if (c.worker)
    return api::fail(errc::forbidden, "worker tokens are accepted only on worker routes");
  if (!auth::allows(c.r, need))
    return api::fail(errc::forbidden, "this needs the " + std::string(auth::to_string(need)) +
                                          " role; the token has " +
                                          std::string(auth::to_string(c.r)));
  return c;
}

/// A JSON body decoded with the node's limits (pipeline::decode_json), or the 400/413 answer.
std::variant<json, api::response> decode_body(const std::string& text, std::size_t max_bytes) {
  auto d = pipeline::decode_json(text, {max_bytes, pipeline::max_json_depth});
  switch (d.failure) {
    case pipeline::json_failure::none:
      return std::move(d.value);
    case pipeline::json_failure::too_large:
      return api::fail(errc::payload_too_large,
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
std::variant<json, api::response> json_body(const request_t& req, std::size_t max_bytes) {
  const auto& text = req->body();
  if (text.empty()) return json::object();
  auto j = decode_body(text, max_bytes);
  if (auto* j_ok = std::get_if<json>(&j); j_ok && !j_ok->is_object())
    return bad("request body must be a JSON object");
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

/// The client's address as text ("127.0.0.1"), for the login throttle.
std::string address_of(const request_t& req) {
  return req->remote_endpoint().address().to_string();
}

/// POST /login: PBKDF2 costs tens of milliseconds, so it runs off the I/O thread; a handful at
/// once at most. Failed attempts back off per address and per user name (auth::login_throttle),
/// checked before any PBKDF2 work.
handling_t login(const request_t& req, const node_view& node, const server_options& opts,
                 std::shared_ptr<auth::login_throttle> throttle) {
  static std::atomic<int> in_progress{0};
  auto body = json_body(req, opts.max_login_body_bytes);
  if (auto* r = std::get_if<api::response>(&body)) return reply(req, *r);
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
    auto r = api::fail(errc::too_many_requests,
                       "too many failed logins: retry in " + std::to_string(seconds) + " s");
    r.headers.emplace_back("Retry-After", std::to_string(seconds));
    return reply(req, r);
  }
  if (in_progress.fetch_add(1) >= 8) {
    --in_progress;
    auto r = api::fail(errc::queue_full, "too many logins in progress");
    r.headers.emplace_back("Retry-After", "1");
    return reply(req, r);
  }
  std::thread([req, users = node.users, secret = node.jwt_secret, ttl = opts.login_ttl_seconds,
               throttle, address, user, pass = j["password"].get<std::string>()] {
    auto c = users->login(user, pass, unix_now(), ttl);
    if (!c) {
      throttle->failed(address, user, auth::login_throttle::clock::now());
      write(req, api::fail(errc::unauthenticated, "wrong username or password"));
    } else {
      throttle->succeeded(address, user);
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

/// The answer to a request the gate refused (its synthetic stand-in, see request_gate.hpp).
handling_t reply_refusal(const request_t& req) {
  const auto& h = req->header();
  auto code = h.get_field_or(std::string(refusal_code_header), "bad_request");
  auto message = percent_decode_message(h.get_field_or(std::string(refusal_message_header), ""));
  errc e = errc::bad_request;
  for (errc c : {errc::bad_request, errc::unauthenticated, errc::not_found, errc::payload_too_large,
                 errc::uri_too_long, errc::header_too_large})
    if (code == code_name(c)) e = c;
  return reply_error(req, e, message);
}

/// The gate's decision on a complete head, before any of the body is read: login and webhooks
/// take bodies from anyone (login's are small), routes that want none take small ones, every other
/// route only with a valid token (the role is checked later, by the route); a path no route has
/// gets its 404 at once.
verdict head_verdict(const request_head& h, const std::string& secret, const server_options& opts) {
  verdict v{std::nullopt, opts.max_body_bytes};
  if (!h.has_body()) return v;
  auto route = route_of(h.path());
  if (route == "other") {
    v.refuse = refusal{errc::not_found, "no route for " + std::string(h.path())};
  } else if (route == "/api/v1/login" || route == "/api/v1/health" || route == "/api/v1/version" ||
             route == "/metrics") {
    v.max_body_bytes = opts.max_login_body_bytes;
  } else if (route == "/api/v1/webhooks/:token" ||
             (route == P + "/webhooks/git" && h.method == "POST")) {
    // the node checks the webhook token or signature, which needs the body
  } else {
    std::optional<std::string_view> header;
    if (h.authorization) header = *h.authorization;
    auto who = token_claims(header, secret);
    if (auto* denied = std::get_if<api::response>(&who))
      v.refuse =
          refusal{errc::unauthenticated, denied->body["error"]["message"].get<std::string>()};
  }
  return v;
}

/// The one route table (SPEC §3.1). Known paths answer 405 for other methods.
std::unique_ptr<router_t> make_router(node_view node, const server_options& opts,
                                      std::shared_ptr<sse_streams> streams) {
  auto router = std::make_unique<router_t>();
  auto shared = std::make_shared<node_view>(std::move(node));
  auto throttle = std::make_shared<auth::login_throttle>();
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
    return login(req, *shared, opts, throttle);
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
    auto who = token_claims(authorization_of(req), shared->jwt_secret);
    if (auto* denied = std::get_if<api::response>(&who)) return reply(req, *denied);
    if (!std::get<auth::claims>(who).worker)
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
      auto body = json_body(req, max_body);
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
    if (req->header().path() == refusal_path) return reply_refusal(req);
    return reply_error(req, errc::not_found, "no route for " + std::string(req->header().path()));
  });
  return router;
}

/// Watches the acceptor once a second (accept_limiter): connections waiting in the listen
/// backlog, an accept outstanding, none made since the last look, while the I/O thread is alive
/// (a posted heartbeat ran): the accept failed silently. Two such looks in a row re-arm it.
class accept_watchdog {
 public:
  accept_watchdog(int listen_fd, asio::any_io_executor io) : fd_(listen_fd), io_(std::move(io)) {}

  void look() {
    std::lock_guard<std::mutex> lock(accept_limiter::registry_mu());
    auto* limiter = accept_limiter::registry();
    if (limiter == nullptr || fd_ < 0) return;
    auto st = limiter->state();
    pollfd p{fd_, POLLIN, 0};
    bool waiting = ::poll(&p, 1, 0) == 1 && (p.revents & POLLIN) != 0;
    bool alive = beat_->exchange(false);
    stalls_ = st.accepting && waiting && alive && st.accepted == last_accepted_ ? stalls_ + 1 : 0;
    last_accepted_ = st.accepted;
    asio::post(io_, [beat = beat_] { *beat = true; });
    if (stalls_ < 2) return;
    stalls_ = 0;
    rlimit fds{};
    getrlimit(RLIMIT_NOFILE, &fds);
    spdlog::warn(
        "event=http.accept_stalled open_fds={} fd_limit={} (accepting a connection failed, most "
        "likely out of file descriptors; accepting again)",
        open_fds(), static_cast<unsigned long long>(fds.rlim_cur));
    limiter->rearm();
  }

 private:
  int fd_;
  asio::any_io_executor io_;
  std::shared_ptr<std::atomic<bool>> beat_ = std::make_shared<std::atomic<bool>>(true);
  int stalls_ = 0;
  std::uint64_t last_accepted_ = 0;
};

class restinio_server final : public server {
 public:
  restinio_server(const server_options& opts, node_view node) {
    gate_limits limits;
    limits.max_url_bytes = opts.max_url_bytes;
    limits.max_head_bytes = opts.max_head_bytes;
    limits.max_body_bytes = opts.max_body_bytes;
    {
      std::lock_guard<std::mutex> lock(gate_setup_mu);
      current_gate_setup = std::make_shared<gate_setup>(
          gate_setup{limits, [secret = node.jwt_secret, opts](const request_head& h) {
                       return head_verdict(h, secret, opts);
                     }});
    }
    struct bound_acceptor {
      int fd = -1;
      std::optional<asio::any_io_executor> io;
      std::uint16_t port = 0;
    };
    std::promise<bound_acceptor> bound;
    auto bound_future = bound.get_future();
    auto settings =
        restinio::server_settings_t<traits_t>{}
            .address(opts.host)
            .port(opts.port)
            .request_handler(make_router(std::move(node), opts, streams_))
            .read_next_http_message_timelimit(std::chrono::seconds(30))
            .handle_request_timeout(std::chrono::seconds(30))
            .max_pipelined_requests(16)
            .max_parallel_connections(opts.max_connections)
            .concurrent_accepts_count(1)
            // RESTinio's own limits only back the gate up (it closes without an answer)
            .incoming_http_msg_limits(restinio::incoming_http_msg_limits_t{}
                                          .max_url_size(limits.max_url_bytes)
                                          .max_field_name_size(limits.max_head_bytes)
                                          .max_field_value_size(limits.max_head_bytes)
                                          .max_body_size(limits.max_body_bytes))
            .acceptor_post_bind_hook([p = std::make_shared<std::promise<bound_acceptor>>(
                                          std::move(bound))](asio::ip::tcp::acceptor& a) {
              p->set_value({a.native_handle(), a.get_executor(), a.local_endpoint().port()});
            });
    try {
      running_ = restinio::run_async<traits_t>(restinio::own_io_context(), std::move(settings), 1);
    } catch (const std::exception& e) {
      throw std::runtime_error("cannot listen on " + opts.host + ":" + std::to_string(opts.port) +
                               ": " + e.what());
    }
    auto acceptor = bound_future.get();
    port_ = acceptor.port;
    spdlog::info("event=http.limits max_connections={} max_body_bytes={} max_url_bytes={}",
                 opts.max_connections, opts.max_body_bytes, opts.max_url_bytes);
    background_ =
        std::thread([this, watchdog = accept_watchdog(acceptor.fd, *acceptor.io)]() mutable {
          std::unique_lock<std::mutex> lock(stop_mu_);
          for (int tick = 1; !stop_cv_.wait_for(lock, std::chrono::seconds(1),
                                                [this] { return stopped_.load(); });
               ++tick) {
            watchdog.look();
            if (tick % sse_streams::interval.count() == 0) streams_->ping_all();
          }
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
    if (background_.joinable()) background_.join();
    running_->stop();
    running_->wait();
  }

 private:
  std::shared_ptr<sse_streams> streams_ = std::make_shared<sse_streams>();
  restinio::running_server_handle_t<traits_t> running_;
  std::thread background_;  // the accept watchdog every second, SSE pings every 10 s
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
