#include "node/worker_main.hpp"

#include <unistd.h>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <memory>
#include <optional>
#include <thread>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "actors/worker/embedded_worker.hpp"
#include "build_info.hpp"
#include "config/pipeline/json_decode.hpp"
#include "config/pipeline/utf8.hpp"
#include "connectors/http_client/http_client.hpp"
#include "node/remote_worker.hpp"
#include "node/secret_access.hpp"
#include "node/server_main.hpp"
#include "node/worker_hello.hpp"

namespace pikoci::node {
namespace {

std::string default_name() {
  char host[256] = {0};
  if (gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') std::snprintf(host, 8, "worker");
  return std::string(host) + "-" + std::to_string(::getpid());
}

/// What the server at `server_url` says to the worker's token: the Kafka settings, or why it
/// cannot start.
register_answer register_with(const worker_flags& f, const std::string& name,
                              const std::string& server_url,
                              std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
  nlohmann::json body{
      {"name", name}, {"tags", f.tags}, {"queues", f.queues}, {"concurrency", f.concurrency}};
  auto url = server_url;
  while (!url.empty() && url.back() == '/') url.pop_back();
  auto r = http_client::request(
      "POST", url + "/api/v1/workers/register", hcl::to_json_text(body),
      {{"Authorization", "Bearer " + f.worker_token}, {"Content-Type", "application/json"}},
      timeout, 1 << 20);
  auto message = [&] {
    auto j = pipeline::decode_json(r.body).value;
    if (j.is_object() && j.contains("error") && j["error"].is_object() &&
        j["error"].value("message", nlohmann::json()).is_string())
      return j["error"]["message"].get<std::string>();
    return std::string("HTTP ") + std::to_string(r.status);
  };
  auto failed = [](std::string why) {
    register_answer a;
    a.error = std::move(why);
    return a;
  };
  if (!r.ok()) return failed("cannot reach the server at " + server_url + ": " + r.error);
  if (r.status == 401 || r.status == 403)
    return failed("the server refused the worker token (" + std::to_string(r.status) +
                  "): " + message());
  if (r.status != 200) return failed("the server refused the worker: " + message());
  return read_register_answer(pipeline::decode_json(r.body).value, server_url);
}

}  // namespace

int run_worker(const worker_flags& flags) {
  configure_logging(flags.log_level);
  block_stop_signals();

  auto name = flags.name.empty() ? default_name() : flags.name;
  auto tags = kafka::normalize_tags(flags.tags);
  if (auto err = kafka::check_tags(tags); !err.empty()) {
    spdlog::error("event=worker.bad_tags error=\"{}\"", err);
    return 2;
  }
  spdlog::info("event=node.starting role=worker version={} commit={} worker={} server={}",
               build_info::version, build_info::commit, name, flags.pikoci_url);
  // the same executor runs builds here: nothing of them outlives this worker, even a kill -9
  start_process_cleanup(flags.build_cgroup);
  auto h = register_with(flags, name, flags.pikoci_url);
  if (!h.error.empty()) {
    spdlog::error("event=worker.register_failed error=\"{}\"", h.error);
    return 1;
  }

  caf::actor_system_config cfg;
  cfg.set("scheduler.max-threads", 2);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  caf::actor_system sys{cfg};
  sys.await_actors_before_shutdown(false);

  remote_worker_options o;
  o.feed.brokers = flags.kafka_brokers;
  o.feed.names.prefix = h.topic_prefix;
  o.feed.name = name;
  o.feed.token = flags.worker_token;
  o.feed.tags = tags;
  auto queue = [&flags](const char* q) {
    return std::find(flags.queues.begin(), flags.queues.end(), q) != flags.queues.end();
  };
  o.feed.jobs = queue("jobs");
  o.feed.checks = queue("checks");
  o.concurrency = flags.concurrency;
  o.exec.work_root =
      std::filesystem::temp_directory_path() / ("pikoci-worker-" + std::to_string(::getpid()));
  o.exec.worker_env = worker::process_environment();
  o.exec.cache_root = worker::cache_root_or_default(flags.cache_root);
  // the node's own handlers (artifacts) reach the server with this worker's URL and token
  o.exec.node_handlers->set(
      {{"PIKOCI_NODE_URL", flags.pikoci_url}, {"PIKOCI_NODE_TOKEN", flags.worker_token}});
  o.exec.secret_store = http_secret_store(flags.pikoci_url, flags.worker_token);
  o.lease = h.lease;
  // asked only when this worker has lost the brokers for longer than the lease: can the server
  // still hear them? (the same route it registered with; in a cluster, when that server does
  // not answer, each other member once)
  auto servers = std::make_shared<lease_servers>(flags.pikoci_url);
  servers->learn(h);
  o.server_hears = [&flags, name, servers]() -> std::optional<std::chrono::milliseconds> {
    auto again = servers->ask([&](const std::string& url) {
      return register_with(flags, name, url, std::chrono::seconds(3));
    });
    if (!again) return std::nullopt;
    return again->heard_for;
  };
  std::unique_ptr<remote_worker> w;
  try {
    w = std::make_unique<remote_worker>(sys, o);
  } catch (const std::runtime_error& e) {
    spdlog::error("event=worker.kafka_failed error=\"{}\"", e.what());
    return 1;
  }

  int sig = wait_stop_signal("worker");
  std::thread draining;
  std::atomic<bool> done{false};
  if (sig == SIGQUIT) {
    // the drain waits on its own thread: a SIGTERM or SIGINT meanwhile stops the worker at once
    auto ms = drain_limit(flags.drain_timeout);
    spdlog::info("event=worker.draining timeout_ms={}", ms.count());
    draining = std::thread([&w, &done, ms] {
      bool drained = w->drain(ms);
      done = true;
      spdlog::info("event=worker.drained complete={}", drained);
    });
    while (!done && wait_term_signal("worker", std::chrono::milliseconds(100)) == 0) {
    }
  }
  int cancelled = w->stop(o.exec.grace);
  // the drain returns once the cancelled builds are gone
  if (draining.joinable()) draining.join();
  w.reset();
  std::error_code ec;
  std::filesystem::remove_all(o.exec.work_root, ec);
  spdlog::info("event=node.stopped role=worker cancelled_builds={}", cancelled);
  return 0;
}

}  // namespace pikoci::node
