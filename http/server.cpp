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
#include "http/errors.hpp"
#include "http/request_gate.hpp"
#include "http/routes.hpp"

namespace pikoci::http {
namespace {

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
    if (node.cluster) {
      cluster_ = std::make_shared<cluster_edge>();
      cluster_->forward = std::make_shared<forwarder>(node.cluster->self_id);
    }
    gate_limits limits;
    limits.max_url_bytes = opts.max_url_bytes;
    limits.max_head_bytes = opts.max_head_bytes;
    // the largest body any route takes (an artifact upload); the gate lowers it per route
    limits.max_body_bytes = std::max(opts.max_body_bytes, opts.max_artifact_bytes);
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
            .request_handler(make_router(std::move(node), opts, streams_, cluster_))
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
                                          std::move(bound)),
                                      cluster = cluster_](asio::ip::tcp::acceptor& a) {
              if (cluster) cluster->io = a.get_executor();
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
    if (cluster_) cluster_->forward->stop();  // relayed streams end cleanly first
    running_->stop();
    running_->wait();
  }

 private:
  std::shared_ptr<sse_streams> streams_ = std::make_shared<sse_streams>();
  std::shared_ptr<cluster_edge> cluster_;  // cluster mode only
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
