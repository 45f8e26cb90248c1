#include "actors/node/server_main.hpp"

#include <pthread.h>
#include <csignal>

#include <spdlog/spdlog.h>

#include "actors/node/runtime.hpp"
#include "build_info.hpp"
#include "config/node/pipeline_file.hpp"
#include "config/pipeline/duration.hpp"
#include "connectors/kafka/remote_worker.hpp"
#include "http/server.hpp"

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

std::chrono::milliseconds drain_limit(const std::string& text) {
  auto limit = pipeline::parse_duration(text).value_or(std::chrono::minutes(10));
  return std::chrono::duration_cast<std::chrono::milliseconds>(limit);
}

namespace {

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
    vars = nlohmann::json::parse(std::get<std::string>(raw), nullptr, false);
    if (!vars.is_object()) return fail(flags.vars_file + ": not a JSON object");
  }
  auto r = rt.call_and_wait(
      api::set_pipeline{flags.pipeline_name, std::get<std::string>(std::move(text)), vars});
  if (!api::is_error(r)) return true;
  if (r.body.contains("diagnostics")) {
    for (const auto& d : r.body["diagnostics"])
      spdlog::error("event=pipeline.invalid pipeline={} at={}:{}:{} message=\"{}\"",
                    flags.pipeline_name, flags.pipeline_config, d["line"].get<int>(),
                    d["column"].get<int>(), d["message"].get<std::string>());
    return false;
  }
  return fail(r.body["error"]["message"].get<std::string>());
}

}  // namespace

int run_server(const server_flags& flags) {
  configure_logging(flags.log_level);
  // Signals are taken synchronously by this thread; every thread started later inherits the mask.
  block_stop_signals();

  spdlog::info("event=node.starting role=server version={} commit={} db={} pubsub={}",
               build_info::version, build_info::commit, flags.db_system, flags.pubsub_system);
  auto users = std::make_shared<http::auth::user_store>(flags.admin_password);
  if (!users->init_error().empty()) {
    spdlog::error("event=node.auth_failed error=\"{}\"", users->init_error());
    return 1;
  }
  auto generated = users->generated_password();
  if (!generated.empty())
    spdlog::warn(
        "event=admin.password user=admin password={} (generated; set --admin-password "
        "to choose one)",
        generated);

  runtime_options ro;
  ro.concurrency = flags.concurrency;
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
  auto grace_of = [&] { return ro.grace; };
  if (flags.pubsub_system == "kafka") {
    kafka::dispatcher_options k;
    k.brokers = flags.kafka_brokers;
    k.names.prefix = flags.kafka_topic_prefix;
    k.jwt_secret = flags.jwt_secret;
    k.grace = grace_of();
    k.lease = std::chrono::duration_cast<std::chrono::milliseconds>(
        pipeline::parse_duration(flags.worker_lease).value_or(std::chrono::seconds(10)));
    ro.kafka = k;
  }
  std::unique_ptr<runtime> started;
  try {
    if (flags.db_system == "rocksdb") {
      ro.store = persistence::open_rocksdb_store(flags.db_path);
      spdlog::info("event=store.opened db=rocksdb path={}", flags.db_path);
    }
    started = std::make_unique<runtime>(ro);
  } catch (const persistence::store_error& e) {
    spdlog::error("event=store.open_failed error=\"{}\"", e.what());
    return 1;
  } catch (const std::runtime_error& e) {
    spdlog::error("event=kafka.unavailable error=\"{}\"", e.what());
    return 1;
  }
  runtime& rt = *started;
  if (!set_startup_pipeline(flags, rt)) return 1;

  std::unique_ptr<kafka::remote_worker> local_worker;
  if (ro.kafka) {
    using namespace http::auth;
    auto now = std::chrono::duration_cast<std::chrono::seconds>(
                   std::chrono::system_clock::now().time_since_epoch())
                   .count();
    auto token = sign(flags.jwt_secret, claims{"worker", role::worker, true, now, 0});
    if (!flags.run_worker) {
      // the seed's line, for copying into worker configurations
      spdlog::info("Worker token for standalone workers token={}", token);
    } else {
      // --run-worker with Kafka: this process is also one of the workers, through the topics
      kafka::remote_worker_options w;
      w.brokers = flags.kafka_brokers;
      w.names = ro.kafka->names;
      w.name = "embedded-1";
      w.token = token;
      w.concurrency = flags.concurrency;
      w.exec = worker_exec(ro);
      try {
        local_worker = std::make_unique<kafka::remote_worker>(rt.system(), w);
      } catch (const std::runtime_error& e) {
        spdlog::error("event=kafka.unavailable error=\"{}\"", e.what());
        return 1;
      }
    }
  }

  http::node_view view;
  // workers: the embedded one, or the remote workers that are not stale
  std::shared_ptr<std::atomic<int>> live;
  if (ro.kafka) live = ro.kafka->live_workers;
  view.health = [db = flags.db_system, pubsub = flags.pubsub_system,
                 embedded = flags.run_worker ? 1 : 0, live] {
    int workers = live ? live->load() : embedded;
    return nlohmann::json{{"status", "ok"}, {"db", db}, {"pubsub", pubsub}, {"workers", workers}};
  };
  view.call = [&rt](api::request req, std::function<void(api::response)> reply) {
    rt.call(std::move(req), std::move(reply));
  };
  view.worker_hello = [k = ro.kafka]() -> nlohmann::json {
    if (!k) return nullptr;
    return {{"pubsub", "kafka"},
            {"kafka", {{"topic_prefix", k->names.prefix}, {"lease_ms", k->lease.count()}}}};
  };
  view.jwt_secret = flags.jwt_secret;
  view.users = users;
  std::unique_ptr<http::server> api;
  try {
    api = http::start_server({flags.host, flags.port}, std::move(view));
  } catch (const std::exception& e) {
    spdlog::error("event=http.listen_failed error=\"{}\"", e.what());
    return 1;
  }
  std::string shown_host = flags.host == "0.0.0.0" ? "127.0.0.1" : flags.host;
  spdlog::info("event=node.ready url=http://{}:{} port={}", shown_host, api->port(), api->port());

  int sig = wait_stop_signal("server");
  if (sig == SIGQUIT) {
    // Drain: queued and running builds finish (new triggers get 503), up to --drain-timeout.
    auto ms = drain_limit(flags.drain_timeout);
    spdlog::info("event=node.draining timeout_ms={}", ms.count());
    bool drained = rt.drain(ms);
    spdlog::info("event=node.drained complete={}", drained);
  }
  // Running builds are cancelled and recorded so before the API goes away.
  int cancelled = rt.stop_builds();
  if (local_worker) local_worker->stop(ro.grace);
  local_worker.reset();
  api->stop();
  spdlog::info("event=node.stopped cancelled_builds={}", cancelled);
  return 0;
}

}  // namespace pikoci::node
