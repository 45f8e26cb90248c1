#include "config/node/cli.hpp"

#include <chrono>
#include <iostream>

#include <CLI/CLI.hpp>

#include "config/pipeline/duration.hpp"

namespace pikoci::node {
namespace {

/// Adds `--name` bound to `target` with the environment variable NAME (SPEC §2).
/// `aliases` are extra spellings ("--db-name"); the environment variable follows `name`.
template <class T>
CLI::Option* flag(CLI::App& app, const std::string& name, T& target, const std::string& help,
                  const std::string& aliases = {}) {
  std::string env;
  for (char c : name) env += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  std::string names = "--" + name + (aliases.empty() ? "" : "," + aliases);
  return app.add_option(names, target, help)->envname(env)->capture_default_str();
}

void add_server_flags(CLI::App& app, server_flags& f) {
  flag(app, "host", f.host, "HTTP listen address");
  flag(app, "port", f.port, "HTTP port (0 picks a free port and logs it)");
  flag(app, "jwt-secret", f.jwt_secret, "HS256 key for user and worker tokens (required)");
  flag(app, "admin-password", f.admin_password,
       "password of the built-in admin user (random and logged once when empty)");
  flag(app, "db-system", f.db_system, "state store")->check(CLI::IsMember({"mem", "rocksdb"}));
  flag(app, "db-path", f.db_path, "RocksDB directory", "--db-name");
  flag(app, "pubsub-system", f.pubsub_system, "work queue")->check(CLI::IsMember({"mem", "kafka"}));
  flag(app, "kafka-brokers", f.kafka_brokers, "Kafka bootstrap servers");
  flag(app, "kafka-topic-prefix", f.kafka_topic_prefix, "prefix of every Kafka topic");
  app.add_flag("--run-worker,!--no-run-worker", f.run_worker, "run an embedded worker")
      ->envname("RUN_WORKER")
      ->capture_default_str();
  flag(app, "concurrency", f.concurrency, "build slots of the embedded worker")
      ->check(CLI::Range(1, 1024));
  flag(app, "max-in-flight", f.max_in_flight, "global cap on started builds")
      ->check(CLI::Range(1, 100000));
  flag(app, "max-queue-size", f.max_queue_size, "pending builds beyond the cap (0: no queue)")
      ->check(CLI::Range(0, 10000000));
  flag(app, "pipeline-name", f.pipeline_name, "create or update this pipeline at start-up");
  flag(app, "pipeline-config", f.pipeline_config, "HCL file of --pipeline-name")
      ->check(CLI::ExistingFile);
  flag(app, "vars", f.vars_file, "JSON file with variable values for --pipeline-config")
      ->check(CLI::ExistingFile);
  flag(app, "drain-timeout", f.drain_timeout, "SIGQUIT drain limit")
      ->check([](const std::string& s) {
        return pipeline::parse_duration(s) ? std::string{} : "not a duration: " + s;
      });
  flag(app, "log-level", f.log_level, "log level")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
}

/// Checks a `--ttl` value: a non-negative duration, "0" (never) or at least one second, so that a
/// sub-second value cannot silently turn into a token that never expires.
std::string check_ttl(const std::string& s) {
  auto d = pipeline::parse_duration(s);
  if (!d) return "not a duration: " + s;
  if (d->count() < 0) return "must not be negative: " + s;
  if (d->count() > 0 && *d < std::chrono::seconds(1)) return "must be 0 or at least 1s: " + s;
  return {};
}

}  // namespace

command parse_command_line(int argc, char** argv) {
  CLI::App app{"pikoci-node: a self-hosted CI/CD orchestrator (PikoCI pipelines)", "pikoci-node"};
  app.set_config("--config,-c", "", "read flags from this TOML/INI file");
  app.get_formatter()->column_width(36);
  std::string role = "server";
  server_flags server;
  add_server_flags(app, server);
  app.add_option("--role", role, "long-running role")
      ->envname("ROLE")
      ->check(CLI::IsMember({"server", "worker"}))
      ->capture_default_str();

  validate_flags validate;
  auto* v = app.add_subcommand("validate", "parse and validate a pipeline file offline");
  v->add_option("file", validate.file, "the pipeline HCL file")->required();
  v->add_option("--var", validate.vars, "set a variable (repeatable), k=v")
      ->check([](const std::string& s) {
        return s.find('=') == std::string::npos ? "expected k=v, got " + s : std::string{};
      });
  v->add_option("--vars,-v", validate.vars_file, "JSON file with variable values");

  worker_token_flags worker_token;
  auto* wt = app.add_subcommand("worker-token", "print a token for standalone workers");
  flag(*wt, "jwt-secret", worker_token.jwt_secret, "HS256 key the server uses (required)");

  user_token_flags user_token;
  auto* ut = app.add_subcommand("user-token", "print a token for the REST API and the client");
  flag(*ut, "jwt-secret", user_token.jwt_secret, "HS256 key the server uses (required)");
  // No environment variables for these three: USER is set in every shell and ROLE is the server's
  // --role, so reading them would silently mint tokens for the wrong user or fail on "server".
  ut->add_option("--user", user_token.user, "user name the token is for")->capture_default_str();
  ut->add_option("--role", user_token.role, "role of the token")
      ->check(CLI::IsMember({"read", "write", "admin"}))
      ->capture_default_str();
  ut->add_option("--ttl", user_token.ttl, "lifetime of the token (0: never expires)")
      ->check(check_ttl)
      ->capture_default_str();

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return exit_now{app.exit(e)};
  } catch (const CLI::CallForAllHelp& e) {
    return exit_now{app.exit(e)};
  } catch (const CLI::ParseError& e) {
    // One line naming the flag; exit 2 for every usage error (SPEC §2).
    std::cerr << "pikoci-node: " << e.what() << " (see --help)\n";
    return exit_now{2};
  }
  if (v->parsed()) return validate_command{validate};
  // `pikoci-node --jwt-secret S worker-token` reads naturally too: fall back to the top-level flag.
  auto secret_given = [&](std::string& secret) {
    if (secret.empty()) secret = server.jwt_secret;
    if (secret.empty()) std::cerr << "pikoci-node: --jwt-secret is required (or JWT_SECRET)\n";
    return !secret.empty();
  };
  if (wt->parsed()) {
    if (!secret_given(worker_token.jwt_secret)) return exit_now{2};
    return worker_token_command{worker_token};
  }
  if (ut->parsed()) {
    if (!secret_given(user_token.jwt_secret)) return exit_now{2};
    if (user_token.user.empty()) {
      std::cerr << "pikoci-node: --user must not be empty\n";
      return exit_now{2};
    }
    // check_ttl accepted it, so it parses.
    auto ttl = pipeline::parse_duration(user_token.ttl).value_or(pipeline::duration{0});
    user_token.ttl_seconds = std::chrono::duration_cast<std::chrono::seconds>(ttl).count();
    return user_token_command{user_token};
  }
  if (role == "worker") {
    std::cerr << "pikoci-node: --role worker is not available yet in this build\n";
    return exit_now{2};
  }
  if (server.jwt_secret.empty()) {
    std::cerr << "pikoci-node: --jwt-secret is required (or JWT_SECRET)\n";
    return exit_now{2};
  }
  if (server.pubsub_system == "kafka" && server.kafka_brokers.empty()) {
    std::cerr << "pikoci-node: --kafka-brokers is required with --pubsub-system kafka\n";
    return exit_now{2};
  }
  if (server.pubsub_system == "mem" && !server.run_worker) {
    std::cerr << "pikoci-node: --run-worker=false needs --pubsub-system kafka (nobody could run "
                 "the work)\n";
    return exit_now{2};
  }
  if (server.pipeline_config.empty() != server.pipeline_name.empty()) {
    std::cerr << "pikoci-node: --pipeline-name and --pipeline-config go together\n";
    return exit_now{2};
  }
  return server_command{server};
}

}  // namespace pikoci::node
