#include "node/server_main.hpp"

#include <malloc.h>
#include <pthread.h>
#include <unistd.h>
#include <sys/resource.h>
#include <algorithm>
#include <cerrno>
#include <csignal>
#include <ctime>
#include <filesystem>
#include <future>
#include <optional>

#include <spdlog/spdlog.h>

#include "auth/git_webhook.hpp"
#include "build_info.hpp"
#include "config/node/pipeline_file.hpp"
#include "config/pipeline/duration.hpp"
#include "config/pipeline/json_decode.hpp"
#include "connectors/kafka/presence.hpp"
#include "connectors/process/containment.hpp"
#include "http/server.hpp"
#include "node/cluster_manager.hpp"
#include "node/remote_worker.hpp"
#include "node/runtime.hpp"
#include "node/secret_access.hpp"
#include "persistence/checkpoints.hpp"
#include "persistence/keys.hpp"

namespace pikoci::node {

void configure_logging(const std::string& level) {
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::info);
}

namespace {
sigset_t stop_signals() {
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGQUIT}) sigaddset(&signals, s);
  return signals;
}
}  // namespace

void block_stop_signals() {
  auto signals = stop_signals();
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
}

int wait_stop_signal(const char* role) {
  auto signals = stop_signals();
  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("event=node.stopping role={} signal={}", role,
               sig == SIGQUIT  ? "SIGQUIT"
               : sig == SIGINT ? "SIGINT"
                               : "SIGTERM");
  return sig;
}

int wait_term_signal(const char* role, std::chrono::milliseconds timeout) {
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGQUIT}) sigaddset(&signals, s);
  auto until = std::chrono::steady_clock::now() + timeout;
  for (auto now = std::chrono::steady_clock::now(); now < until;
       now = std::chrono::steady_clock::now()) {
    auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(until - now).count();
    timespec ts{static_cast<time_t>(left / 1000000000), static_cast<long>(left % 1000000000)};
    int sig = sigtimedwait(&signals, nullptr, &ts);
    if (sig == SIGTERM || sig == SIGINT) {
      spdlog::info("event=node.stopping role={} signal={} while=draining", role,
                   sig == SIGINT ? "SIGINT" : "SIGTERM");
      return sig;
    }
    if (sig < 0 && errno != EINTR) break;  // EAGAIN: the time is up
  }
  return 0;
}

void start_process_cleanup(const std::string& build_cgroup) {
  auto st = process::init_cleanup(build_cgroup);
  if (st.mode == process::cleanup_mode::cgroup)
    spdlog::info("event=process.cleanup mode=cgroup cgroup={} leftovers_killed={}", st.where,
                 st.leftovers);
  else
    spdlog::info("event=process.cleanup mode={} reason=\"{}\" leftovers_killed={}",
                 process::to_string(st.mode), st.fallback, st.leftovers);
}

std::chrono::milliseconds drain_limit(const std::string& text) {
  auto limit = pipeline::parse_duration(text).value_or(std::chrono::minutes(10));
  return std::chrono::duration_cast<std::chrono::milliseconds>(limit);
}

namespace {

/// Raises the soft open-file limit to the hard one (connections, build pipes and the store all
/// need descriptors) and returns the limit now in force.
rlim_t raise_fd_limit() {
  rlimit fds{};
  if (getrlimit(RLIMIT_NOFILE, &fds) != 0) return 1024;
  if (fds.rlim_cur < fds.rlim_max) {
    auto before = fds.rlim_cur;
    fds.rlim_cur = fds.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &fds) == 0) {
      spdlog::info("event=node.fd_limit raised_from={} to={}",
                   static_cast<unsigned long long>(before),
                   static_cast<unsigned long long>(fds.rlim_cur));
    } else {
      getrlimit(RLIMIT_NOFILE, &fds);
    }
  }
  return fds.rlim_cur;
}

/// `--max-connections`, or half the open-file limit (the other half stays for builds and the
/// store), between 16 and 4096.
std::size_t max_connections(const server_flags& flags, rlim_t fd_limit) {
  if (flags.max_connections > 0) {
    if (static_cast<rlim_t>(flags.max_connections) + 64 > fd_limit)
      spdlog::warn(
          "event=node.max_connections_high max_connections={} fd_limit={} (connections may use "
          "up every file descriptor)",
          flags.max_connections, static_cast<unsigned long long>(fd_limit));
    return static_cast<std::size_t>(flags.max_connections);
  }
  auto half = fd_limit == RLIM_INFINITY ? rlim_t{4096} : fd_limit / 2;
  return static_cast<std::size_t>(std::clamp<rlim_t>(half, 16, 4096));
}

/// `--pipeline-name/--pipeline-config/--vars`: creates or updates that pipeline, like
/// `PUT /api/v1/pipelines/{name}` would. False (logged) when it cannot be set.
bool set_startup_pipeline(const server_flags& flags, runtime& rt) {
  if (flags.pipeline_config.empty()) return true;
  auto fail = [&](const std::string& why) {
    spdlog::error("event=pipeline.load_failed pipeline={} error=\"{}\"", flags.pipeline_name, why);
    return false;
  };
  auto text = read_file_capped(flags.pipeline_config, max_pipeline_file_bytes);
  if (auto* err = std::get_if<file_error>(&text)) return fail(err->message);
  auto vars = nlohmann::json::object();
  if (!flags.vars_file.empty()) {
    auto raw = read_file_capped(flags.vars_file, max_pipeline_file_bytes);
    if (auto* err = std::get_if<file_error>(&raw)) return fail(err->message);
    auto decoded = pipeline::decode_json(std::get<std::string>(raw), {max_pipeline_file_bytes});
    if (!decoded) return fail(flags.vars_file + ": " + decoded.error);
    vars = std::move(decoded.value);
    if (!vars.is_object()) return fail(flags.vars_file + ": not a JSON object");
  }
  auto r = rt.gateway().call_and_wait(
      proto::set_pipeline{flags.pipeline_name, std::get<std::string>(std::move(text)), vars});
  if (!r.failed()) return true;
  if (r.failure->details.contains("diagnostics")) {
    for (const auto& d : r.failure->details["diagnostics"])
      spdlog::error("event=pipeline.invalid pipeline={} at={}:{}:{} message=\"{}\"",
                    flags.pipeline_name, flags.pipeline_config, d["line"].get<int>(),
                    d["column"].get<int>(), d["message"].get<std::string>());
    return false;
  }
  return fail(r.failure->message);
}

/// The runtime's settings from the flags.
runtime_options runtime_options_of(const server_flags& flags) {
  runtime_options ro;
  ro.concurrency = flags.concurrency;
  ro.cache_root = flags.cache_root;
  ro.max_in_flight = flags.max_in_flight;
  ro.max_queue_size = flags.max_queue_size;
  ro.max_builds_per_job = flags.max_builds_per_job;
  ro.notify.max_attempts = flags.notify_max_attempts;
  auto millis_of = [](const std::string& text, std::chrono::milliseconds fallback) {
    auto d = pipeline::parse_duration(text);
    return d ? std::chrono::duration_cast<std::chrono::milliseconds>(*d) : fallback;
  };
  ro.notify.backoff.base = millis_of(flags.notify_backoff_base, std::chrono::seconds(1));
  ro.notify.backoff.cap = millis_of(flags.notify_backoff_cap, std::chrono::minutes(5));
  ro.pipeline_limits.eval.max_time =
      millis_of(flags.pipeline_eval_timeout, std::chrono::seconds(10));
  ro.pipeline_limits.eval.max_value_bytes =
      static_cast<std::size_t>(flags.pipeline_eval_memory) * 1024 * 1024;
  ro.pipeline_limits.max_jobs = static_cast<std::size_t>(flags.pipeline_max_jobs);
  if (!flags.secret_key.empty())
    ro.secret_box = std::make_shared<const auth::secret_box>(flags.secret_key);
  if (flags.pubsub_system == "kafka") {
    kafka::dispatcher_options k;
    k.brokers = flags.kafka_brokers;
    k.names.prefix = flags.kafka_topic_prefix;
    k.jwt_secret = flags.jwt_secret;
    k.grace = ro.grace;
    k.lease = std::chrono::duration_cast<std::chrono::milliseconds>(
        pipeline::parse_duration(flags.worker_lease).value_or(std::chrono::seconds(10)));
    ro.kafka = k;
  }
  return ro;
}

/// `--artifact-dir`, else next to the RocksDB store, else (a memory store) a directory below the
/// system's temporary directory that `run_server` removes at exit.
std::filesystem::path artifact_dir_of(const server_flags& flags, bool& temporary) {
  temporary = false;
  if (!flags.artifact_dir.empty()) return flags.artifact_dir;
  if (flags.db_system == "rocksdb") {
    auto db = std::filesystem::path(flags.db_path);
    if (!db.has_filename()) db = db.parent_path();
    return db.string() + "-artifacts";
  }
  temporary = true;
  return std::filesystem::temp_directory_path() /
         ("pikoci-artifacts-" + std::to_string(::getpid()));
}

/// The URL of the API listening on `--host` and `port` (a wildcard address as loopback).
std::string local_url(const server_flags& flags, std::uint16_t port) {
  std::string host = flags.host == "0.0.0.0" ? "127.0.0.1"
                     : flags.host == "::"    ? "::1"
                                             : flags.host;
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  return "http://" + host + ":" + std::to_string(port);
}

/// The URL the node's own handlers on the embedded worker reach the API at, and their token.
work::env_map handler_env_of(const server_flags& flags, std::uint16_t port) {
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto token = auth::sign(flags.jwt_secret,
                          auth::claims{"embedded-worker", auth::role::worker, true, now, 0});
  return {{"PIKOCI_NODE_URL", local_url(flags, port)}, {"PIKOCI_NODE_TOKEN", token}};
}

/// With Kafka: this server's presence on its topic prefix (connectors/kafka/presence.hpp), once
/// no other server uses the prefix. False when this server must not run (logged
/// `event=node.refused`, or `event=kafka.unavailable`).
bool join_prefix(const server_flags& flags, std::unique_ptr<kafka::presence>& out) {
  if (flags.pubsub_system != "kafka") return true;
  kafka::presence_options opts;
  opts.brokers = flags.kafka_brokers;
  opts.names.prefix = flags.kafka_topic_prefix;
  opts.self.member_id = domain::new_member_id();
  opts.self.started_at = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
  if (!flags.cluster.empty()) {
    opts.self.mode = domain::member_mode::cluster;
    opts.self.cluster = flags.cluster;
  }
  if (!flags.advertise_url.empty())
    opts.self.advertise_url = flags.advertise_url;
  else if (flags.port != 0)
    opts.self.advertise_url = local_url(flags, flags.port);
  try {
    out = std::make_unique<kafka::presence>(opts);
  } catch (const std::runtime_error& e) {
    spdlog::error("event=kafka.unavailable error=\"{}\"", e.what());
    return false;
  }
  // two servers on one prefix would split the worker events between them
  auto why = out->check(std::chrono::milliseconds(2500));
  if (why.empty()) return true;
  spdlog::error("event=node.refused member={} error=\"{}\"", opts.self.member_id, why);
  return false;
}

/// `--cluster`: the cluster manager (its topics created when missing), and the runtime set up to
/// write through it. False when it cannot start (logged).
bool join_cluster(const server_flags& flags, const kafka::presence& presence, runtime_options& ro,
                  std::unique_ptr<cluster_manager>& out) {
  if (flags.cluster.empty()) return true;
  cluster_options c;
  c.brokers = flags.kafka_brokers;
  c.prefix = flags.kafka_topic_prefix;
  c.cluster = flags.cluster;
  c.partitions = flags.cluster_partitions;
  c.member = presence.self().member_id;
  c.session_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(
      pipeline::parse_duration(flags.member_timeout).value_or(std::chrono::seconds(6)));
  if (!ro.store) ro.store = persistence::open_memory_store();
  c.store = ro.store;
  c.secret = flags.jwt_secret;
  if (flags.db_system == "rocksdb") {
    c.db_path = flags.db_path;
    c.checkpoint_interval = std::chrono::duration_cast<std::chrono::milliseconds>(
        pipeline::parse_duration(flags.checkpoint_interval).value_or(std::chrono::minutes(10)));
  }
  c.standby_replicas = flags.standby_replicas;
  c.live = [p = &presence] {
    const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count();
    return p->directory().live(now);
  };
  try {
    out = std::make_unique<cluster_manager>(c);
  } catch (const std::runtime_error& e) {
    spdlog::error("event=cluster.unavailable cluster={} error=\"{}\"", flags.cluster, e.what());
    return false;
  }
  runtime_options::cluster_parts parts;
  parts.partitions = c.partitions;
  parts.table = out->table();
  parts.sink = out->sink();
  parts.catalog = out->catalog();
  parts.move_wait = std::chrono::duration_cast<std::chrono::milliseconds>(
      pipeline::parse_duration(flags.move_wait).value_or(std::chrono::seconds(10)));
  parts.on_fenced = [m = out.get()](int k) { m->fenced(k); };
  parts.broadcast_trigger = [m = out.get()](const std::string& payload) {
    m->broadcast_trigger(payload);
  };
  ro.cluster = parts;
  ro.kafka->cluster = kafka::dispatcher_cluster{flags.cluster, c.partitions, out->table()};
  spdlog::info("event=cluster.joining cluster={} partitions={} member={}", flags.cluster,
               c.partitions, c.member);
  return true;
}

/// A cluster node whose store cannot be opened: the store is set aside as
/// `<db-path>.damaged-<time>` (kept for inspection, never changed) and the node starts from a copy
/// of its newest checkpoint, or empty; restoring a partition then replays the changelog after
/// the offset the checkpoint holds (docs/cluster.md). False when that fails too (logged).
bool open_from_checkpoint(const server_flags& flags, runtime_options& ro) {
  namespace fs = std::filesystem;
  const fs::path db = flags.db_path;
  auto newest = persistence::checkpoints::newest(db);
  std::error_code ec;
  auto aside = db;
  aside += ".damaged-" + std::to_string(std::time(nullptr));
  fs::rename(db, aside, ec);
  if (ec) {
    spdlog::error("event=store.set_aside_failed path={} error=\"{}\"", db.string(), ec.message());
    return false;
  }
  if (newest) {
    auto from = aside / fs::relative(*newest, db, ec);
    fs::copy(from, db, fs::copy_options::recursive, ec);
    if (ec) {
      spdlog::error("event=store.checkpoint_copy_failed from={} error=\"{}\"", from.string(),
                    ec.message());
      return false;
    }
  }
  try {
    ro.store = persistence::open_rocksdb_store(flags.db_path, {false});
  } catch (const persistence::store_error& e) {
    spdlog::error("event=store.open_failed error=\"{}\"", e.what());
    return false;
  }
  spdlog::warn(
      "event=store.from_checkpoint path={} damaged_copy={} checkpoint={} (each partition replays "
      "the changelog after what the checkpoint holds)",
      db.string(), aside.string(), newest ? newest->filename().string() : "none");
  return true;
}

/// `--db-system rocksdb`: the store opened into `ro.store`. False when it cannot be (logged).
bool open_store(const server_flags& flags, runtime_options& ro) {
  if (flags.db_system != "rocksdb") return true;
  try {
    ro.store = persistence::open_rocksdb_store(flags.db_path, {flags.recover_store});
    spdlog::info("event=store.opened db=rocksdb path={}", flags.db_path);
    return true;
  } catch (const persistence::store_error& e) {
    spdlog::error("event=store.open_failed error=\"{}\"", e.what());
    if (flags.cluster.empty()) return false;
    return open_from_checkpoint(flags, ro);
  }
}

/// The runtime started (what the store holds restored); null when it failed (logged).
std::unique_ptr<runtime> start_runtime(const runtime_options& ro) {
  try {
    return std::make_unique<runtime>(ro);
  } catch (const persistence::store_error& e) {
    spdlog::error("event=store.open_failed error=\"{}\"", e.what());
  } catch (const std::runtime_error& e) {
    spdlog::error("event=kafka.unavailable error=\"{}\"", e.what());
  }
  return nullptr;
}

/// A worker token that never expires, signed with `--jwt-secret`.
std::string worker_token_of(const server_flags& flags) {
  using namespace auth;
  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  return sign(flags.jwt_secret, claims{"worker", role::worker, true, now, 0});
}

/// With Kafka and --run-worker this process is one of the workers itself, through the topics.
/// False when that worker cannot start.
bool start_local_worker(const server_flags& flags, const runtime_options& ro, runtime& rt,
                        std::unique_ptr<remote_worker>& local_worker) {
  if (!ro.kafka || !flags.run_worker) return true;
  remote_worker_options w;
  w.feed.brokers = flags.kafka_brokers;
  w.feed.names = ro.kafka->names;
  w.feed.name = "embedded-1";
  w.feed.token = worker_token_of(flags);
  w.concurrency = flags.concurrency;
  w.exec = worker_exec(ro);
  w.exec.secret_store = gateway_secret_store(rt.gateway());
  w.lease = ro.kafka->lease;
  w.server_hears = [broker = ro.kafka->broker]() -> std::optional<std::chrono::milliseconds> {
    return broker->heard_for();
  };
  try {
    local_worker = std::make_unique<remote_worker>(rt.system(), w);
    return true;
  } catch (const std::runtime_error& e) {
    spdlog::error("event=kafka.unavailable error=\"{}\"", e.what());
    return false;
  }
}

/// GET /health: "ok", or "degraded" with every reason: the store cannot write (full or read-only
/// disk), the server cannot hear the Kafka brokers, or no worker can take builds (the embedded
/// one, or the remote workers that are not stale).
std::function<nlohmann::json()> health_of(const server_flags& flags, const runtime_options& ro) {
  std::shared_ptr<std::atomic<int>> live;
  if (ro.kafka) live = ro.kafka->live_workers;
  return [db = flags.db_system, pubsub = flags.pubsub_system,
          embedded = flags.run_worker ? 1 : 0, live, store = ro.store, kafka = ro.kafka] {
    int workers = live ? live->load() : embedded;
    nlohmann::json out{{"status", "ok"}, {"db", db}, {"pubsub", pubsub}, {"workers", workers}};
    auto reasons = nlohmann::json::array();
    auto s = store ? store->status() : persistence::store_status{};
    out["store"] = {{"status", s.available ? "ok" : "unavailable"},
                    {"reason", s.available ? nlohmann::json(nullptr) : nlohmann::json(s.reason)}};
    if (!s.available) reasons.push_back("store unavailable: " + s.reason);
    if (kafka) {
      bool reachable = kafka->broker->broker_reachable();
      auto age = kafka->broker->since_last_event();
      out["kafka"] = {{"status", reachable ? "ok" : "unreachable"},
                      {"last_event_age_ms", age ? nlohmann::json(age->count()) : nullptr}};
      if (!reachable) reasons.push_back("kafka brokers unreachable");
    }
    if (workers == 0) reasons.push_back("no live worker");
    if (!reasons.empty()) {
      out["status"] = "degraded";
      out["reasons"] = std::move(reasons);
    }
    return out;
  };
}

/// Milliseconds since the Unix epoch, now.
domain::wall_ms wall_now() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

/// What the HTTP edge needs of this node.
http::node_view view_of(const server_flags& flags, const runtime_options& ro, runtime& rt,
                        std::shared_ptr<auth::user_store> users, const kafka::presence* presence) {
  http::node_view view;
  view.health = health_of(flags, ro);
  view.node = rt.gateway();
  view.worker_hello = [k = ro.kafka, presence,
                       cluster = flags.cluster]() -> nlohmann::json {
    if (!k) return nullptr;
    // a worker that lost the brokers asks whether the server still hears them (its lease)
    nlohmann::json broker{{"reachable", k->broker->broker_reachable()},
                          {"heard_for_ms", k->broker->heard_for().count()}};
    nlohmann::json out{{"pubsub", "kafka"},
                       {"kafka",
                        {{"topic_prefix", k->names.prefix},
                         {"lease_ms", k->lease.count()},
                         {"broker", std::move(broker)}}}};
    if (!cluster.empty() && presence) {
      // the servers a worker may ask its lease question when this one is gone
      auto members = nlohmann::json::array();
      for (const auto& m : presence->directory().live(wall_now()))
        if (m.last.advertise_url)
          members.push_back({{"member_id", m.last.member_id}, {"url", *m.last.advertise_url}});
      out["cluster"] = {{"name", cluster}, {"members", std::move(members)}};
    }
    return out;
  };
  if (!flags.cluster.empty() && presence && ro.cluster) {
    auto c = std::make_shared<http::cluster_view>();
    c->name = flags.cluster;
    c->partitions = ro.cluster->partitions;
    c->self_id = presence->self().member_id;
    c->self_url = presence->self().advertise_url.value_or("");
    c->table = ro.cluster->table;
    c->live = [presence](domain::wall_ms now) { return presence->directory().live(now); };
    if (auto catalog = ro.cluster->catalog)
      c->webhook_pipeline = [catalog](const std::string& token) {
        return catalog->pipeline_of_webhook(auth::git_webhook::webhook_token_digest(token))
            .value_or("");
      };
    c->move_wait = std::chrono::duration_cast<std::chrono::milliseconds>(
        pipeline::parse_duration(flags.move_wait).value_or(std::chrono::seconds(10)));
    view.cluster = std::move(c);
  }
  view.jwt_secret = flags.jwt_secret;
  view.users = std::move(users);
  view.artifacts = ro.artifacts;
  return view;
}

/// Waits for SIGTERM/SIGINT, or SIGQUIT and a drain: queued and running builds finish (new
/// triggers get 503), up to --drain-timeout; a SIGTERM or SIGINT meanwhile stops the node at once.
void wait_until_stopped(const server_flags& flags, runtime& rt) {
  int sig = wait_stop_signal("server");
  if (sig != SIGQUIT) return;
  auto ms = drain_limit(flags.drain_timeout);
  spdlog::info("event=node.draining timeout_ms={}", ms.count());
  auto drained = rt.start_drain(ms);
  int interrupted = 0;
  while (interrupted == 0 && drained.wait_for(std::chrono::seconds(0)) != std::future_status::ready)
    interrupted = wait_term_signal("server", std::chrono::milliseconds(100));
  if (interrupted == 0) spdlog::info("event=node.drained complete={}", drained.get());
}

/// The admin user: its password is --admin-password, else the one generated at an earlier start
/// of this store, else a new one (announced once the node listens). Null when it cannot be made.
std::shared_ptr<auth::user_store> admin_users(const server_flags& flags,
                                              const runtime_options& ro) {
  std::optional<std::string> stored;
  try {
    if (flags.admin_password.empty() && ro.store)
      stored = ro.store->get(persistence::keys::admin());
  } catch (const persistence::store_error& e) {
    spdlog::error("event=store.open_failed error=\"{}\"", e.what());
    return nullptr;
  }
  auto users = std::make_shared<auth::user_store>(flags.admin_password, stored.value_or(""));
  if (!users->init_error().empty()) {
    spdlog::error("event=node.auth_failed error=\"{}\"", users->init_error());
    return nullptr;
  }
  return users;
}

/// Once the node listens, and never before (a node that cannot listen prints no credential): the
/// worker token for standalone workers, and where the admin's password comes from. A generated
/// one is stored first (RocksDB) so that restarts keep it, then printed this once.
void announce_credentials(const server_flags& flags, const runtime_options& ro, runtime& rt,
                          auth::user_store& users) {
  // for copying into worker configurations
  if (ro.kafka && !flags.run_worker)
    spdlog::info("Worker token for standalone workers token={}", worker_token_of(flags));
  if (users.admin_restored()) {
    spdlog::info(
        "event=admin.password user=admin source=stored (the password generated at the first "
        "start of this store; set --admin-password to choose one)");
    return;
  }
  auto generated = users.generated_password();
  if (generated.empty()) return;
  bool kept = ro.store && rt.write({{persistence::keys::admin(), users.admin_record()}});
  if (ro.store && !kept)
    spdlog::error("event=admin.password_not_stored (the next start generates another one)");
  spdlog::warn(
      "event=admin.password user=admin password={} source=generated ({}; set --admin-password "
      "to choose one)",
      generated, kept ? "stored: restarts keep it" : "it holds until the node stops");
}

}  // namespace

int run_server(const server_flags& flags) {
  configure_logging(flags.log_level);
  // Signals are taken synchronously by this thread; every thread started later inherits the mask.
  block_stop_signals();
  // before the store is read: what dead nodes left running is killed before builds are recorded
  start_process_cleanup(flags.build_cgroup);
  // Buffers of 256 KiB and more (log chunks in flight, capped step logs, build records) are
  // mapped and go back to the system when freed. glibc raises this threshold after the first
  // such free and then keeps them in its heaps: a node whose builds printed a lot stayed at twice
  // the memory it needs (measured with the soak benchmark: 210 MiB → 100 MiB).
  mallopt(M_MMAP_THRESHOLD, 256 * 1024);

  spdlog::info("event=node.starting role=server version={} commit={} db={} pubsub={}",
               build_info::version, build_info::commit, flags.db_system, flags.pubsub_system);
  auto fd_limit = raise_fd_limit();
  std::unique_ptr<kafka::presence> presence;  // outlives the runtime: says `leaving` last
  if (!join_prefix(flags, presence)) return 1;
  auto ro = runtime_options_of(flags);
  if (!open_store(flags, ro)) return 1;
  std::unique_ptr<cluster_manager> cluster;  // left before the runtime goes
  if (presence && !join_cluster(flags, *presence, ro, cluster)) return 1;
  auto users = admin_users(flags, ro);
  if (!users) return 1;
  ro.users = users;
  bool temporary_artifacts = false;
  auto artifact_dir = artifact_dir_of(flags, temporary_artifacts);
  ro.artifacts = std::make_shared<persistence::artifact_store>(artifact_dir);
  spdlog::info("event=artifacts.store dir={} temporary={}", artifact_dir.string(),
               temporary_artifacts);
  auto started = start_runtime(ro);
  if (!started) return 1;
  runtime& rt = *started;
  if (!set_startup_pipeline(flags, rt)) return 1;
  std::unique_ptr<remote_worker> local_worker;
  if (!start_local_worker(flags, ro, rt, local_worker)) return 1;
  if (cluster)
    cluster->start(rt, [p = presence.get()](const std::map<int, domain::partition_claim>& owned,
                                            const std::map<int, std::int64_t>& standby) {
      p->update([&](domain::hello& h) {
        h.owned = owned;
        h.standby = standby;
      });
    });

  std::unique_ptr<http::server> api;
  try {
    http::server_options http_opts;
    http_opts.host = flags.host;
    http_opts.port = flags.port;
    http_opts.max_connections = max_connections(flags, fd_limit);
    http_opts.max_artifact_bytes = static_cast<std::size_t>(flags.max_artifact_size) << 20;
    api = http::start_server(http_opts, view_of(flags, ro, rt, users, presence.get()));
  } catch (const std::exception& e) {
    // the message names the address ("cannot listen on HOST:PORT: ...")
    spdlog::error("event=http.listen_failed error=\"{}\"", e.what());
    return 1;
  }
  ro.node_handlers->set(handler_env_of(flags, api->port()));
  if (presence)
    presence->advertise(flags.advertise_url.empty() ? local_url(flags, api->port())
                                                    : flags.advertise_url);
  std::string shown_host = flags.host == "0.0.0.0" ? "127.0.0.1" : flags.host;
  spdlog::info("event=node.ready url=http://{}:{} port={}", shown_host, api->port(), api->port());
  announce_credentials(flags, ro, rt, *users);

  int cancelled = 0;
  if (cluster) {
    // A cluster node's builds belong to the cluster: any stop signal hands every partition
    // over (pipelines, pending and running builds go on at their new owners); nothing is
    // cancelled.
    wait_stop_signal("server");
    cluster->leave();
    spdlog::info("event=cluster.left cluster={}", flags.cluster);
  } else {
    wait_until_stopped(flags, rt);
    // Pending builds stay pending (with a store they run after the restart); running builds
    // are cancelled and recorded so before the API goes away.
    cancelled = rt.stop_builds();
  }
  if (local_worker) local_worker->stop(ro.grace);
  local_worker.reset();
  api->stop();
  if (temporary_artifacts) {
    std::error_code ec;
    std::filesystem::remove_all(artifact_dir, ec);
  }
  spdlog::info("event=node.stopped cancelled_builds={}", cancelled);
  return 0;
}

}  // namespace pikoci::node
