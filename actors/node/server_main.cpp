#include "actors/node/server_main.hpp"

#include <pthread.h>
#include <csignal>

#include <spdlog/spdlog.h>

#include "build_info.hpp"
#include "config/node/pipeline_file.hpp"
#include "http/server.hpp"

namespace pikoci::node {
namespace {

void configure_logging(const std::string& level) {
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%eZ level=%l %v", spdlog::pattern_time_type::utc);
  spdlog::set_level(spdlog::level::from_str(level));
  spdlog::flush_on(spdlog::level::info);
}

/// Validates the start-up pipeline. Running it comes with the single-node runtime (issue #3).
bool load_startup_pipeline(const server_flags& flags) {
  if (flags.pipeline_config.empty()) return true;
  auto loaded = load_pipeline_file(flags.pipeline_config, {}, flags.vars_file);
  if (auto* err = std::get_if<file_error>(&loaded)) {
    spdlog::error("event=pipeline.load_failed pipeline={} error=\"{}\"", flags.pipeline_name,
                  err->message);
    return false;
  }
  const auto& result = std::get<pipeline::load_result>(loaded);
  if (!result.config) {
    for (const auto& d : result.diags)
      spdlog::error("event=pipeline.invalid pipeline={} at={}:{}:{} message=\"{}\"",
                    flags.pipeline_name, flags.pipeline_config, d.rng.start.line,
                    d.rng.start.column, d.message());
    return false;
  }
  spdlog::info("event=pipeline.loaded pipeline={} file={} jobs={} resources={}",
               flags.pipeline_name, flags.pipeline_config, result.config->jobs.size(),
               result.config->resources.size());
  return true;
}

}  // namespace

int run_server(const server_flags& flags) {
  configure_logging(flags.log_level);
  // Signals are taken synchronously by this thread; every thread started later inherits the mask.
  sigset_t signals;
  sigemptyset(&signals);
  for (int s : {SIGTERM, SIGINT, SIGQUIT}) sigaddset(&signals, s);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);

  spdlog::info("event=node.starting role=server version={} commit={} db={} pubsub={}",
               build_info::version, build_info::commit, flags.db_system, flags.pubsub_system);
  if (!load_startup_pipeline(flags)) return 1;

  http::node_view view;
  view.health = [db = flags.db_system, pubsub = flags.pubsub_system] {
    return nlohmann::json{{"status", "ok"}, {"db", db}, {"pubsub", pubsub}, {"workers", 0}};
  };
  std::unique_ptr<http::server> api;
  try {
    api = http::start_server({flags.host, flags.port}, std::move(view));
  } catch (const std::exception& e) {
    spdlog::error("event=http.listen_failed error=\"{}\"", e.what());
    return 1;
  }
  std::string shown_host = flags.host == "0.0.0.0" ? "127.0.0.1" : flags.host;
  spdlog::info("event=node.ready url=http://{}:{} port={}", shown_host, api->port(), api->port());

  int sig = 0;
  sigwait(&signals, &sig);
  spdlog::info("event=node.stopping signal={}", sig == SIGQUIT  ? "SIGQUIT"
                                                : sig == SIGINT ? "SIGINT"
                                                                : "SIGTERM");
  api->stop();
  spdlog::info("event=node.stopped");
  return 0;
}

}  // namespace pikoci::node
