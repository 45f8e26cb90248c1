#include "config/node/cli.hpp"

#include <algorithm>
#include <chrono>
#include <iostream>
#include <optional>
#include <vector>

#include <CLI/CLI.hpp>

#include "build_info.hpp"
#include "config/node/secrets.hpp"
#include "config/pipeline/duration.hpp"
#include "config/pipeline/names.hpp"
#include "domain/vocabulary.hpp"

namespace pikoci::node {
namespace {

/// Adds `--name` bound to `target` with the environment variable NAME.
/// `aliases` are extra spellings ("--db-name"); the environment variable follows `name`.
template <class T>
CLI::Option* flag(CLI::App& app, const std::string& name, T& target, const std::string& help,
                  const std::string& aliases = {}) {
  std::string env;
  for (char c : name) env += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  std::string names = "--" + name + (aliases.empty() ? "" : "," + aliases);
  return app.add_option(names, target, help)->envname(env)->capture_default_str();
}

/// The names in a table of the domain's vocabulary, in table order, whose values `keep` accepts
/// (all without it): the choices of a flag.
template <class E, std::size_t N>
std::vector<std::string> names_of(const domain::name_table_entry<E> (&table)[N],
                                  bool (*keep)(E) = nullptr) {
  std::vector<std::string> out;
  for (const auto& [value, name] : table)
    if (keep == nullptr || keep(value)) out.emplace_back(name);
  return out;
}

/// A usage error: one line on stderr, and exit status 2.
exit_now usage_error(const std::string& message) {
  std::cerr << "pikoci-node: " << message << "\n";
  return exit_now{2};
}

/// `--config F` read strictly and `--version`, for the server's and the worker's flag tables.
void add_config_and_version(CLI::App& app) {
  app.set_config("--config,-c", "", "read flags from this TOML/INI file (keys are flag names)");
  // a misspelt key is an error, not a setting silently left at its default
  app.allow_config_extras(CLI::config_extras_mode::error);
  app.set_version_flag(
      "--version",
      std::string("pikoci-node ") + build_info::version + " (commit " + build_info::commit + ")",
      "print the version and the commit it was built from, and exit");
}

/// A `--config` file's key that is no flag (CLI11 says "INI was not able to parse KEY"): one line
/// naming it and the nearest flag, exit 2.
exit_now config_error(const CLI::App& app, const CLI::ConfigError& e) {
  const std::string prefix = "INI was not able to parse ";
  std::string what = e.what();
  if (what.rfind(prefix, 0) != 0) return usage_error("--config: " + what);
  std::string key = what.substr(prefix.size());
  std::vector<std::string> flags;
  for (const CLI::Option* o : app.get_options())
    for (const auto& name : o->get_lnames())
      if (o->get_configurable()) flags.push_back(name);
  auto near = pipeline::suggest(key, flags, std::max<std::size_t>(2, key.size() / 3));
  std::string file;
  if (const CLI::Option* c = app.get_config_ptr(); c != nullptr && c->count() > 0)
    file = " in " + c->as<std::string>();
  return usage_error("unknown key \"" + key + "\"" + file +
                     (near ? " (did you mean \"" + *near + "\", the flag --" + *near + "?)"
                           : " (keys are the flags' names without --; see --help)"));
}

/// The long flags of `app` and of the subcommands given on the command line.
void given_flags(const CLI::App& app, std::vector<std::string>& out) {
  for (const CLI::Option* o : app.get_options())
    for (const auto& name : o->get_lnames()) out.push_back(name);
  for (const CLI::App* sub : app.get_subcommands()) given_flags(*sub, out);
}

/// A usage error caused by a `--flag` no command takes: one line naming it and the nearest flag
/// (`--prot` → did you mean --port?). Empty when every `--flag` given is known.
std::string unknown_flag(const CLI::App& app, int argc, const char* const* argv) {
  std::vector<std::string> known;
  given_flags(app, known);
  for (int i = 1; i < argc; ++i) {
    std::string word = argv[i];
    if (word == "--") break;
    if (word.rfind("--", 0) != 0 || word.size() == 2) continue;
    std::string name = word.substr(2, word.find('=') == std::string::npos ? std::string::npos
                                                                           : word.find('=') - 2);
    if (std::find(known.begin(), known.end(), name) != known.end()) continue;
    auto near = pipeline::suggest(name, known, std::max<std::size_t>(2, name.size() / 3));
    return "unknown flag --" + name + (near ? "; did you mean --" + *near + "?" : "");
  }
  return {};
}

constexpr const char* jwt_secret_required =
    "--jwt-secret is required (or JWT_SECRET, or --jwt-secret-file)";

/// The flags of whatever runs builds (a server with its embedded worker, or a worker): how long
/// a drain may take and where build processes are contained.
void add_build_process_flags(CLI::App& app, std::string& drain_timeout, std::string& build_cgroup,
                             std::string& cache_root) {
  flag(app, "drain-timeout", drain_timeout, "SIGQUIT drain limit")->check([](const std::string& s) {
    return pipeline::parse_duration(s) ? std::string{} : "not a duration: " + s;
  });
  flag(app, "build-cgroup", build_cgroup,
       "where build processes are contained: auto (a cgroup v2 below the node's own), off "
       "(child subreaper), or a cgroup v2 directory");
  flag(app, "cache-root", cache_root,
       "where resources with `cache = true` keep their $CACHE_DIR (default: "
       "$XDG_CACHE_HOME/pikoci/cache, else ~/.cache/pikoci/cache)");
}

void add_log_level_flag(CLI::App& app, std::string& log_level) {
  flag(app, "log-level", log_level, "log level")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}));
}

void add_server_flags(CLI::App& app, server_flags& f) {
  flag(app, "host", f.host, "HTTP listen address");
  flag(app, "port", f.port, "HTTP port (0 picks a free port and logs it)");
  flag(app, "jwt-secret", f.jwt_secret, "HS256 key for user and worker tokens (required)");
  flag(app, "jwt-secret-file", f.jwt_secret_file,
       "read --jwt-secret from this file instead (builds never see it)");
  flag(app, "admin-password", f.admin_password,
       "password of the built-in admin user (random and logged once when empty)");
  flag(app, "admin-password-file", f.admin_password_file,
       "read --admin-password from this file instead (builds never see it)");
  flag(app, "secret-key", f.secret_key,
       "key of the internal secret store (secrets cannot be set without one)")
      ->envname("PIKOCI_SECRET_KEY");
  flag(app, "db-system", f.db_system, "state store")->check(CLI::IsMember({"mem", "rocksdb"}));
  flag(app, "db-path", f.db_path, "RocksDB directory", "--db-name");
  app.add_flag("--recover-store", f.recover_store,
               "start from a damaged RocksDB store, keeping what can be read and logging what "
               "was dropped (event=store.recovered)")
      ->envname("RECOVER_STORE")
      ->capture_default_str();
  flag(app, "pubsub-system", f.pubsub_system, "work queue")->check(CLI::IsMember({"mem", "kafka"}));
  flag(app, "kafka-brokers", f.kafka_brokers, "Kafka bootstrap servers");
  flag(app, "kafka-topic-prefix", f.kafka_topic_prefix, "prefix of every Kafka topic");
  app.add_flag("--run-worker,!--no-run-worker", f.run_worker, "run an embedded worker")
      ->envname("RUN_WORKER")
      ->capture_default_str();
  flag(app, "worker-lease", f.worker_lease,
       "a remote worker silent this long is stale; its builds are dispatched again")
      ->check([](const std::string& s) {
        auto d = pipeline::parse_duration(s);
        return d && *d >= std::chrono::seconds(1) ? std::string{}
                                                  : "not a duration of at least 1s: " + s;
      });
  flag(app, "concurrency", f.concurrency, "build slots of the embedded worker")
      ->check(CLI::Range(1, 1024));
  flag(app, "max-in-flight", f.max_in_flight, "global cap on started builds")
      ->check(CLI::Range(1, 100000));
  flag(app, "max-queue-size", f.max_queue_size, "pending builds beyond the cap (0: no queue)")
      ->check(CLI::Range(0, 10000000));
  flag(app, "max-builds-per-job", f.max_builds_per_job,
       "retention: finished builds kept per job, logs included (oldest dropped first)")
      ->check(CLI::Range(1, 100000000));
  flag(app, "notify-max-attempts", f.notify_max_attempts,
       "notification delivery attempts before a message is marked failed")
      ->check(CLI::Range(1, 1000));
  auto positive_duration = [](const std::string& s) {
    auto d = pipeline::parse_duration(s);
    return d && d->count() > 0 ? std::string{} : "not a positive duration: " + s;
  };
  flag(app, "notify-backoff-base", f.notify_backoff_base,
       "notification retries: the first waits up to this, doubling each time (full jitter)")
      ->check(positive_duration);
  flag(app, "notify-backoff-cap", f.notify_backoff_cap,
       "notification retries: the longest wait between two attempts")
      ->check(positive_duration);
  flag(app, "pipeline-name", f.pipeline_name, "create or update this pipeline at start-up");
  flag(app, "pipeline-config", f.pipeline_config, "HCL file of --pipeline-name")
      ->check(CLI::ExistingFile);
  flag(app, "vars", f.vars_file, "JSON file with variable values for --pipeline-config")
      ->check(CLI::ExistingFile);
  add_build_process_flags(app, f.drain_timeout, f.build_cgroup, f.cache_root);
  add_log_level_flag(app, f.log_level);
  flag(app, "max-connections", f.max_connections,
       "parallel HTTP connections; more wait until one closes (0: half the open-file limit, at "
       "most 4096)")
      ->check(CLI::Range(0, 1000000));
  flag(app, "pipeline-eval-timeout", f.pipeline_eval_timeout,
       "wall time that loading (evaluating and validating) one pipeline may take")
      ->check(positive_duration);
  flag(app, "pipeline-eval-memory", f.pipeline_eval_memory,
       "MiB of values that loading one pipeline may produce")
      ->check(CLI::Range(1, 65536));
  flag(app, "pipeline-max-jobs", f.pipeline_max_jobs,
       "jobs one pipeline may have, for_each and matrix instances included")
      ->check(CLI::Range(1, 1000000));
  flag(app, "artifact-dir", f.artifact_dir,
       "where the node keeps artifacts (default: <db-path>-artifacts with --db-system rocksdb, "
       "a temporary directory removed at exit with mem)");
  flag(app, "max-artifact-size", f.max_artifact_size, "MiB one artifact archive may have")
      ->check(CLI::Range(1, 65536));
  flag(app, "cluster", f.cluster,
       "run as a node of this cluster: pipelines are shared with the other nodes of the same "
       "name over Kafka (needs --pubsub-system kafka and --admin-password)")
      ->check([](const std::string& s) {
        bool ok = !s.empty() && s.size() <= 64 &&
                  std::all_of(s.begin(), s.end(), [](char c) {
                    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
                           c == '_';
                  });
        return ok ? std::string{} : "1 to 64 of a-z, 0-9, '-' and '_': " + s;
      });
  flag(app, "advertise-url", f.advertise_url,
       "the URL other cluster nodes reach this one at (default: http://HOST:PORT as bound)")
      ->check([](const std::string& s) {
        return s.rfind("http://", 0) == 0 || s.rfind("https://", 0) == 0
                   ? std::string{}
                   : "not an http:// or https:// URL: " + s;
      });
  flag(app, "cluster-partitions", f.cluster_partitions,
       "pipeline partitions of a new cluster (every node of a cluster must give the same)")
      ->check(CLI::Range(1, 63));
  flag(app, "standby-replicas", f.standby_replicas,
       "cluster nodes keeping a warm copy of each pipeline partition, read from its changelog as "
       "it is written, so the node that takes the partition over replays only the last records")
      ->check(CLI::Range(0, 16));
  auto second_or_more = [](const std::string& s) {
    auto d = pipeline::parse_duration(s);
    return d && *d >= std::chrono::seconds(1) ? std::string{}
                                              : "not a duration of at least 1s: " + s;
  };
  flag(app, "member-timeout", f.member_timeout,
       "a cluster node silent this long loses its partitions to the others (at least the "
       "brokers' group.min.session.timeout.ms, 6s by default)")
      ->check(second_or_more);
  flag(app, "checkpoint-interval", f.checkpoint_interval,
       "a cluster node with --db-system rocksdb checkpoints its store this often; a damaged "
       "store starts again from the newest checkpoint and the changelog (0: no checkpoints)")
      ->check([](const std::string& s) {
        auto d = pipeline::parse_duration(s);
        return d && (d->count() == 0 || *d >= std::chrono::seconds(1))
                   ? std::string{}
                   : "not 0 or a duration of at least 1s: " + s;
      });
  flag(app, "move-wait", f.move_wait,
       "a request for a pipeline whose partition is moving waits this long, then gets 503 "
       "partition_moving with Retry-After")
      ->check(second_or_more);
}

/// `--X-file F`: reads the secret `--X` from F. Both given is a usage error (printed); so is a file
/// that cannot be read or is empty.
bool take_secret_file(std::string& value, const std::string& file, const std::string& name) {
  if (file.empty()) return true;
  if (!value.empty()) {
    std::cerr << "pikoci-node: give --" << name << " or --" << name << "-file, not both\n";
    return false;
  }
  if (auto error = read_secret_file(file, value); !error.empty()) {
    std::cerr << "pikoci-node: --" << name << "-file: " << error << "\n";
    return false;
  }
  return true;
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

/// Checks a `k=v` value of a repeatable flag (--var, --input).
std::string check_key_value(const std::string& s) {
  auto eq = s.find('=');
  return eq == std::string::npos || eq == 0 ? "expected k=v, got " + s : std::string{};
}

/// `client`: one subcommand per group and per verb, each with its own positionals, so `--help`
/// works at every level and a missing or unknown word is a one-line usage error. `--url`,
/// `--token` and `--json` may also come after the verb (fallthrough to `client`).
/// Builds the `client` subcommand tree: groups, their verbs and the verbs' arguments, all bound
/// to one set of client flags.
struct client_tree {
  CLI::App* c;
  client_flags& f;

  /// At most one verb in a group; a missing one is reported by client_usage_error.
  CLI::App* group(const std::string& name, const std::string& help) const {
    return c->add_subcommand(name, help)->fallthrough()->require_subcommand(0, 1);
  }
  static CLI::App* verb(CLI::App* g, const std::string& name, const std::string& help) {
    return g->add_subcommand(name, help)->fallthrough();
  }
  template <class T>
  static CLI::Option* arg(CLI::App* v, const std::string& name, T& target,
                          const std::string& help) {
    return v->add_option(name, target, help)->required();
  }
  void pipeline_arg(CLI::App* v) const { arg(v, "PIPELINE", f.pipeline, "pipeline name"); }
  void job_args(CLI::App* v) const {
    pipeline_arg(v);
    arg(v, "JOB", f.job, "job name");
  }
  void build_args(CLI::App* v) const {
    job_args(v);
    arg(v, "NUMBER", f.number, "build number (3, or 3.1 for a retry)");
  }
  void resource_args(CLI::App* v) const {
    pipeline_arg(v);
    arg(v, "RESOURCE", f.resource, "resource: type.name, or the bare name when unique");
  }
  void limit(CLI::App* v) const {
    v->add_option("--limit", f.limit, "at most this many, newest first (0: all; default 50)")
        ->check(CLI::Range(0, 1000000000));
  }

  void version_id_arg(CLI::App* v) const {
    arg(v, "VERSION_ID", f.version_id, "version id (see resources versions)")
        ->check([](const std::string& s) {
          bool positive = !s.empty() && s.size() < 19 &&
                          s.find_first_not_of("0123456789") == std::string::npos &&
                          std::stoll(s) > 0;
          return positive ? std::string{} : "expected a version id (a positive integer), got " + s;
        });
  }

  void add_pipelines() const {
    auto* pipelines =
        group("pipelines",
              "set, list, get, delete, pause, unpause pipelines; concurrency rules, git webhook "
              "secrets");
    auto* set = verb(pipelines, "set", "create or update a pipeline from an HCL file");
    arg(set, "NAME", f.pipeline, "pipeline name");
    arg(set, "FILE", f.file, "the pipeline HCL file")->check(CLI::ExistingFile);
    set->add_option("--var", f.vars, "set a variable (repeatable), k=v")->check(check_key_value);
    set->add_option("--vars,-v", f.vars_file, "JSON file with variable values")
        ->check(CLI::ExistingFile);
    verb(pipelines, "list", "list pipelines");
    for (auto [name, help] : {std::pair{"get", "show a pipeline, its jobs and resources"},
                              {"delete", "delete a pipeline with its builds and versions"},
                              {"pause", "pause a pipeline"},
                              {"unpause", "unpause a pipeline"}})
      pipeline_arg(verb(pipelines, name, help));
    auto* conc = verb(pipelines, "concurrency", "set a pipeline's concurrency rule");
    pipeline_arg(conc);
    conc->add_option("MODE", f.mode, "none, serial, group or skip-if-running")
        ->required()
        ->check(CLI::IsMember({"none", "serial", "group", "skip-if-running"}));
    conc->add_option("--group-template", f.group_template,
                     "with group: the key template, e.g. 'deploy-{{index .Inputs \"env\"}}'");
    conc->add_flag("--cancel-running", f.cancel_running,
                   "with group: cancel running peers and skip queued ones");
    auto* hook = verb(pipelines, "set-webhook-secret",
                      "set the secret of a pipeline's git push webhook; the value is read from "
                      "standard input");
    pipeline_arg(hook);
    hook->add_option("--value", f.secret_value,
                     "the secret (visible in the process list: prefer standard input)");
    pipeline_arg(verb(pipelines, "delete-webhook-secret",
                      "remove a pipeline's git webhook secret (deliveries are refused from then "
                      "on)"));
  }

  void add_jobs() const {
    auto* jobs = group("jobs", "list and show jobs; trigger, pause and unpause them");
    pipeline_arg(verb(jobs, "list", "list a pipeline's jobs with their latest build"));
    job_args(verb(jobs, "get", "show a job: paused or not, its plan, concurrency"));
    auto* trigger = verb(jobs, "trigger", "start a build of a job");
    job_args(trigger);
    trigger
        ->add_option("--input", f.inputs,
                     "a value for one of the job's `input` blocks (repeatable), k=v; steps "
                     "read it as $INPUT_k")
        ->check(check_key_value);
    trigger->add_option("--arg", f.args,
                        "a word kept with the build (repeatable, in order); steps do not see it: "
                        "the pipeline's concurrency group template reads it as .Args, e.g. "
                        "'{{index .Args 0}}'");
    job_args(verb(jobs, "pause", "pause a job"));
    job_args(verb(jobs, "unpause", "unpause a job"));
  }

  void add_builds() const {
    auto* builds =
        group("builds",
              "list, show, cancel, retry, approve and reject builds; print their logs and plans");
    auto* list = verb(builds, "list", "list builds, of all pipelines, one pipeline or one job");
    list->add_option("PIPELINE", f.pipeline, "only this pipeline's builds");
    list->add_option("JOB", f.job, "only this job's builds");
    list->add_option("--status", f.statuses, "only builds in these statuses, comma-separated")
        ->delimiter(',')
        ->check(CLI::IsMember(names_of(domain::build_status_names)));
    limit(list);
    build_args(verb(builds, "get", "show a build: status, trigger, inputs, steps"));
    build_args(verb(builds, "plan",
                    "show a build's resolved plan: services, steps, commands, hooks, env"));
    auto* logs = verb(builds, "logs", "print a build's step and hook logs");
    build_args(logs);
    logs->add_flag("--follow,-f", f.follow,
                   "print the logs so far, then new output as it comes until the build ends");
    logs->add_option("--wait", f.wait,
                     "with --follow: how many seconds to wait for a build that does not exist "
                     "yet (default 60; 0: do not wait)")
        ->check(CLI::Range(0, 86400));
    build_args(verb(builds, "cancel", "cancel a pending or started build"));
    build_args(verb(builds, "retry", "run a finished build again with the same versions"));
    auto* approve = verb(builds, "approve", "approve a build waiting for approval");
    build_args(approve);
    approve->add_option("--message,-m", f.message, "why (shown with the approval)");
    auto* reject = verb(builds, "reject", "reject a build waiting for approval (it fails)");
    build_args(reject);
    reject->add_option("--message,-m", f.message, "why (the build's reason names it)")->required();
    build_args(verb(builds, "warning", "mark a failed build as warning (it counts as passing)"));
  }

  void add_resources() const {
    auto* resources = group(
        "resources", "list and check resources; list, add, pin, unpin and trigger their versions");
    pipeline_arg(verb(resources, "list", "list a pipeline's resources and their checks"));
    resource_args(verb(resources, "check", "check a resource for new versions now"));
    auto* versions = verb(resources, "versions", "list a resource's versions, newest first");
    resource_args(versions);
    limit(versions);
    auto* pin = verb(resources, "pin", "pin a resource to one of its versions");
    resource_args(pin);
    version_id_arg(pin);
    resource_args(verb(resources, "unpin", "unpin a resource"));
    auto* add =
        verb(resources, "add-version", "record a version of a resource as if a check had found it");
    resource_args(add);
    arg(add, "FIELD", f.fields, "the version's fields, KEY=VALUE (at least one), e.g. ref=abc")
        ->check(check_key_value);
    auto* trigger = verb(resources, "trigger",
                         "build every job that gets the resource (without passed) on one of its "
                         "versions");
    resource_args(trigger);
    version_id_arg(trigger);
    resource_args(verb(resources, "webhook-token",
                       "give a resource a new webhook token; the old one stops working"));
  }

  void add_secrets() const {
    auto* secrets = group("secrets", "set, delete and list the internal secret store's secrets");
    auto scope = [this](CLI::App* v) {
      v->add_option("--pipeline", f.pipeline, "this pipeline's secret (default: team-wide)");
    };
    auto* set = verb(secrets, "set", "set a secret; the value is read from standard input");
    arg(set, "NAME", f.secret, "secret name ([A-Za-z_][A-Za-z0-9_]*)");
    scope(set);
    set->add_option("--value", f.secret_value,
                    "the value (visible in the process list: prefer standard input)");
    auto* del = verb(secrets, "delete", "delete a secret");
    arg(del, "NAME", f.secret, "secret name");
    scope(del);
    scope(verb(secrets, "list", "list secret names (values are never shown)"));
  }

  void password_flag(CLI::App* v) const {
    v->add_option("--password", f.password,
                  "the password (visible in the process list: prefer the prompt or standard "
                  "input)");
  }

  void add_users() const {
    auto* users = group("users", "list, create and delete user accounts; set roles, passwords");
    auto name = [this](CLI::App* v) { arg(v, "NAME", f.username, "user name"); };
    auto roles = CLI::IsMember({"read", "write", "maintain", "admin"});
    verb(users, "list", "list the accounts and their roles");
    auto* create = verb(users, "create",
                        "create an account; the password is asked for, or read from standard "
                        "input");
    arg(create, "NAME", f.username, "user name (a-z 0-9 . _ -, starting with a letter or digit)");
    create->add_option("--role", f.role, "read, write, maintain or admin (default read)")
        ->check(roles);
    password_flag(create);
    name(verb(users, "delete", "delete an account; its tokens stop working"));
    auto* set_role = verb(users, "set-role", "give an account another role");
    name(set_role);
    arg(set_role, "ROLE", f.role, "read, write, maintain or admin")->check(roles);
    auto* set_password =
        verb(users, "set-password",
             "set an account's password (yours, or anyone's as admin); its earlier tokens stop "
             "working");
    name(set_password);
    password_flag(set_password);
  }

  void add_notifications() const {
    auto* n = group("notifications", "list notification messages; send a failed one again");
    auto* list = verb(n, "list", "list the notification outbox, newest first");
    list->add_option("--status", f.statuses, "only these statuses, comma-separated")
        ->delimiter(',')
        ->check(CLI::IsMember({"pending", "delivered", "failed"}));
    limit(list);
    arg(verb(n, "retry", "send a failed notification again (attempts from 0)"), "ID",
        f.notification, "notification id (see notifications list)");
  }

  void add_login() const {
    auto* login = group("login",
                        "log in with a user name and password and keep the token for later "
                        "commands to this --url");
    login->add_option("--username,-u", f.username, "user name (asked for when not given)");
    password_flag(login);
    group("logout", "forget the token kept by login for this --url");
  }
};

CLI::App* add_client(CLI::App& app, client_flags& f) {
  auto* c = app.add_subcommand("client", "drive a running node over its REST API");
  c->add_option("--url", f.url, "node URL")->envname("PIKOCI_URL")->capture_default_str();
  // No capture_default_str: --help must never show a token.
  c->add_option("--token", f.token,
                "API token; when neither this nor PIKOCI_TOKEN is given, the token kept by "
                "`client login` for this --url (in $XDG_CONFIG_HOME/pikoci-node/tokens.json, "
                "else ~/.config/pikoci-node/tokens.json)")
      ->envname("PIKOCI_TOKEN");
  c->add_flag("--json", f.json, "print the API's JSON reply instead of text");

  // At most one group and one verb; a missing one is reported by client_usage_error.
  c->require_subcommand(0, 1);
  client_tree tree{c, f};
  tree.add_pipelines();
  tree.add_jobs();
  tree.add_builds();
  tree.add_resources();
  tree.add_secrets();
  tree.add_users();
  tree.add_login();
  tree.group("queue", "show the execution queue");
  auto* workers = tree.group("workers", "list workers");
  tree.arg(tree.verb(workers, "forget", "remove a stale worker from the list now (admin)"), "NAME",
           f.worker, "worker name");
  tree.add_notifications();
  tree.group("stats", "show the node's figures: queue, workers, start latency, success rate");
  auto* events = tree.group(
      "events",
      "print every build's status changes as they happen, one line each, until interrupted");
  events->add_option("--limit", f.limit, "stop after this many")->check(CLI::Range(1, 1000000000));
  tree.group("cluster", "show the cluster's live members and which member owns each partition");
  tree.group("health", "show whether the node is healthy, and why not");
  tree.group("version", "show the node's version and commit");
  auto* exp = tree.group("export", "copy the server's store into a new RocksDB directory");
  exp->add_option("--output", f.output, "the directory to create (must not exist)")->required();
  return c;
}

/// After parsing `client`: fills the group and verb names, or says which word is missing.
std::string client_usage_error(const CLI::App& c, client_flags& f) {
  auto names = [](const CLI::App& app) {
    std::string out;
    auto subs = app.get_subcommands({});
    for (std::size_t i = 0; i < subs.size(); ++i)
      out += (i == 0 ? "" : i + 1 == subs.size() ? " or " : ", ") + subs[i]->get_name();
    return out;
  };
  auto groups = c.get_subcommands();
  if (groups.empty()) return "client needs a command: " + names(c);
  const CLI::App& g = *groups.front();
  f.group = g.get_name();
  auto verbs = g.get_subcommands();
  if (verbs.empty()) {
    // `workers` alone lists them (its one verb, `forget`, is optional)
    if (g.get_subcommands({}).empty() || f.group == "workers") return {};
    return "client " + f.group + " needs one of " + names(g);
  }
  f.verb = verbs.front()->get_name();
  return {};
}

/// The closest of `names` to `given`: the only one it begins, else one within 2 edits.
std::optional<std::string> nearest(const std::string& given,
                                   const std::vector<std::string>& names) {
  std::vector<std::string> prefixed;
  for (const auto& n : names)
    if (n.rfind(given, 0) == 0) prefixed.push_back(n);
  if (prefixed.size() == 1) return prefixed.front();
  return pipeline::suggest(given, names);
}

std::vector<std::string> subcommand_names(const CLI::App& app) {
  std::vector<std::string> out;
  for (const auto* sub : app.get_subcommands({})) out.push_back(sub->get_name());
  return out;
}

/// When the words after `client` (its flags and their values left out) start with an unknown
/// group or verb: the message saying so, with the nearest command when one is close
/// (`client pipeline lst` → did you mean `client pipelines list`?). Empty otherwise.
std::string client_typo(const CLI::App& c, const std::vector<std::string>& words) {
  if (words.empty()) return {};
  const CLI::App* group = nullptr;
  std::string fixed;
  for (const auto* g : c.get_subcommands({}))
    if (g->get_name() == words[0]) group = g;
  if (group == nullptr) {
    auto name = nearest(words[0], subcommand_names(c));
    if (!name) return "unknown command \"" + words[0] + "\" (see client --help)";
    group = c.get_subcommand(*name);
    fixed = *name;
  }
  auto verbs = subcommand_names(*group);
  bool verb_given = words.size() > 1 && !verbs.empty();
  bool known_verb = verb_given && std::find(verbs.begin(), verbs.end(), words[1]) != verbs.end();
  // a known command: CLI11's own message says what is wrong
  if (fixed.empty() && (!verb_given || known_verb)) return {};
  if (known_verb) {
    return "unknown command \"" + words[0] + "\"; did you mean `client " + fixed + " " + words[1] +
           "`?";
  }
  std::string typed = words[0] + (verb_given ? " " + words[1] : "");
  if (!verb_given) return "unknown command \"" + typed + "\"; did you mean `client " + fixed + "`?";
  auto verb = nearest(words[1], verbs);
  std::string name = group->get_name();
  if (!verb) {
    std::string all;
    for (const auto& v : verbs) all += (all.empty() ? "" : ", ") + v;
    return "unknown command \"" + typed + "\": client " + name + " takes " + all;
  }
  return "unknown command \"" + typed + "\"; did you mean `client " + name + " " + *verb + "`?";
}

/// The words after `client` in argv that are not its own flags (`--url`, `--token` and their
/// values, `--json`): the group and verb typed, then their arguments.
std::vector<std::string> client_words(int argc, char** argv) {
  std::vector<std::string> words;
  bool seen = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (!seen) {
      seen = a == "client";
    } else if (a == "--url" || a == "--token") {
      ++i;
    } else if (a.empty() || a[0] != '-') {
      words.push_back(a);
    }
  }
  return words;
}

}  // namespace

/// The role asked for on the command line (`--role X`, `--role=X`) or by ROLE; "server" else.
std::string role_of(int argc, char** argv) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--role" && i + 1 < argc) return argv[i + 1];
    if (a.rfind("--role=", 0) == 0) return a.substr(7);
  }
  const char* env = std::getenv("ROLE");
  return env != nullptr ? env : "server";
}

/// `pikoci-node --role worker`: its own flag table (the defaults differ from the server's).
command parse_worker(int argc, char** argv) {
  CLI::App app{"pikoci-node --role worker: runs builds and checks for a server, through Kafka",
               "pikoci-node --role worker"};
  add_config_and_version(app);
  app.get_formatter()->column_width(36);
  std::string role;
  app.add_option("--role", role, "long-running role")->envname("ROLE");
  worker_flags f;
  flag(app, "pikoci-url", f.pikoci_url, "server URL (registration, token check)", "-u");
  flag(app, "pubsub-system", f.pubsub_system, "work queue; must be kafka for a worker")
      ->check(CLI::IsMember({"mem", "kafka"}));
  flag(app, "kafka-brokers", f.kafka_brokers, "Kafka bootstrap servers");
  flag(app, "queues", f.queues, "which queues to consume: jobs, checks or both")
      ->delimiter(',')
      ->check(CLI::IsMember({"jobs", "checks"}));
  flag(app, "concurrency", f.concurrency, "parallel builds")->check(CLI::Range(1, 1024));
  flag(app, "tags", f.tags, "tags this worker holds (tagged work needs all of them)")
      ->delimiter(',');
  flag(app, "name", f.name, "worker name shown in the API (default: hostname-pid)");
  add_build_process_flags(app, f.drain_timeout, f.build_cgroup, f.cache_root);
  flag(app, "worker-token", f.worker_token,
       "from `pikoci-node worker-token` or the server log (required)");
  flag(app, "worker-token-file", f.worker_token_file,
       "read --worker-token from this file instead (builds never see it)");
  add_log_level_flag(app, f.log_level);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return exit_now{app.exit(e)};
  } catch (const CLI::CallForVersion& e) {
    return exit_now{app.exit(e)};
  } catch (const CLI::ConfigError& e) {
    return config_error(app, e);
  } catch (const CLI::ParseError& e) {
    if (std::string flag = unknown_flag(app, argc, argv); !flag.empty())
      return usage_error(flag + " (see --role worker --help)");
    return usage_error(std::string(e.what()) + " (see --role worker --help)");
  }
  if (f.pubsub_system == "mem")
    return usage_error(
        "a worker needs --pubsub-system kafka (mem only works inside one process: use the "
        "server's embedded worker)");
  if (f.kafka_brokers.empty()) return usage_error("--kafka-brokers is required for a worker");
  if (!take_secret_file(f.worker_token, f.worker_token_file, "worker-token")) return exit_now{2};
  if (f.worker_token.empty())
    return usage_error("--worker-token is required (or WORKER_TOKEN, or --worker-token-file)");
  if (f.queues.empty()) return usage_error("--queues needs jobs, checks or both");
  return worker_command{f};
}

namespace {

CLI::App* add_user_token(CLI::App& app, user_token_flags& t) {
  auto* ut = app.add_subcommand("user-token", "print a token for the REST API and the client");
  flag(*ut, "jwt-secret", t.jwt_secret, "HS256 key the server uses (required)");
  // No environment variables for these three: USER is set in every shell and ROLE is the server's
  // --role, so reading them would silently mint tokens for the wrong user or fail on "server".
  ut->add_option("--user", t.user, "user name the token is for")->capture_default_str();
  ut->add_option("--role", t.role, "role of the token")
      ->check(CLI::IsMember(names_of(domain::role_names, domain::is_user_role)))
      ->capture_default_str();
  ut->add_option("--ttl", t.ttl, "lifetime of the token (0: never expires)")
      ->check(check_ttl)
      ->capture_default_str();
  return ut;
}

/// Why the server's flags do not go together; empty when they do.
std::string server_flags_problem(const server_flags& server) {
  if (server.jwt_secret.empty()) return jwt_secret_required;
  if (server.pubsub_system == "kafka" && server.kafka_brokers.empty())
    return "--kafka-brokers is required with --pubsub-system kafka";
  if (server.pubsub_system == "mem" && !server.run_worker)
    return "--run-worker=false needs --pubsub-system kafka (nobody could run the work)";
  if (!server.cluster.empty() && server.pubsub_system != "kafka")
    return "--cluster needs --pubsub-system kafka (the nodes share their pipelines over it)";
  if (!server.cluster.empty() && server.admin_password.empty())
    return "--cluster needs --admin-password (every node must accept the same admin password)";
  if (!server.cluster.empty() && !server.pipeline_config.empty())
    return "--pipeline-config is not taken with --cluster: set pipelines through any node "
           "(pikoci-node client pipelines set)";
  if (server.pipeline_config.empty() != server.pipeline_name.empty())
    return "--pipeline-name and --pipeline-config go together";
  if (!server.pipeline_name.empty() && !pipeline::is_valid_name(server.pipeline_name))
    return std::string("invalid --pipeline-name: ") + pipeline::name_rule;
  return {};
}

}  // namespace

namespace {

/// The `run` subcommand.
CLI::App* add_run(CLI::App& app, run_flags& f) {
  auto* r = app.add_subcommand("run",
                               "run one job of a pipeline file locally, once, in the foreground");
  r->footer(
      "The job's build runs on this machine with the node's own executor, its steps' output\n"
      "printed as it comes. A get takes the version given with --version, else the resource is\n"
      "checked once and its newest version pulled. `passed` is not applied (there is no\n"
      "upstream history), no other job runs, put steps run as written, and secrets are not\n"
      "fetched: a secret-backed variable's value stays a placeholder unless --var gives it.\n"
      "Exit status: 0 when the build succeeded, 1 when it did not (failed, errored,\n"
      "cancelled), 2 for an unusable command line, file or input value.");
  auto kv = [](const std::string& s) {
    return s.find('=') == std::string::npos ? "expected k=v, got " + s : std::string{};
  };
  r->add_option("file", f.file, "the pipeline HCL file")->required();
  r->add_option("--job,-j", f.job, "the job to run")->required();
  r->add_option("--var", f.vars, "set a variable (repeatable), k=v")->check(kv);
  r->add_option("--vars,-v", f.vars_file, "JSON file with variable values");
  r->add_option("--input", f.inputs, "a trigger input of the job (repeatable), k=v")->check(kv);
  r->add_option("--version", f.versions,
                "the version a get uses (repeatable), RES={\"ref\":\"abc\"} with RES the "
                "resource's name or type.name")
      ->check(kv);
  r->add_option("--log-level", f.log_level, "the node's own log lines on standard error")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "off"}))
      ->capture_default_str();
  return r;
}

}  // namespace

command parse_command_line(int argc, char** argv) {
  if (role_of(argc, argv) == "worker") return parse_worker(argc, argv);
  CLI::App app{"pikoci-node: a self-hosted CI/CD orchestrator (PikoCI pipelines)", "pikoci-node"};
  add_config_and_version(app);
  app.get_formatter()->column_width(36);
  std::string role = "server";
  server_flags server;
  add_server_flags(app, server);
  app.add_option("--role", role, "long-running role")
      ->envname("ROLE")
      ->check(CLI::IsMember({"server", "worker"}))
      ->capture_default_str();

  validate_flags validate;
  auto* v = app.add_subcommand("validate", "parse and validate a pipeline file");
  v->add_option("file", validate.file, "the pipeline HCL file")->required();
  v->add_option("--var", validate.vars, "set a variable (repeatable), k=v")
      ->check([](const std::string& s) {
        return s.find('=') == std::string::npos ? "expected k=v, got " + s : std::string{};
      });
  v->add_option("--vars,-v", validate.vars_file, "JSON file with variable values");
  v->add_flag("--offline", validate.offline,
              "do not fetch http(s) sources: each is noted, its definition left unchecked");

  run_flags run;
  auto* rn = add_run(app, run);

  worker_token_flags worker_token;
  auto* wt = app.add_subcommand("worker-token", "print a token for standalone workers");
  flag(*wt, "jwt-secret", worker_token.jwt_secret, "HS256 key the server uses (required)");

  user_token_flags user_token;
  auto* ut = add_user_token(app, user_token);

  client_flags client;
  auto* cl = add_client(app, client);

  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return exit_now{app.exit(e)};
  } catch (const CLI::CallForAllHelp& e) {
    return exit_now{app.exit(e)};
  } catch (const CLI::CallForVersion& e) {
    return exit_now{app.exit(e)};
  } catch (const CLI::ConfigError& e) {
    return config_error(app, e);
  } catch (const CLI::ParseError& e) {
    if (cl->parsed())
      if (std::string typo = client_typo(*cl, client_words(argc, argv)); !typo.empty())
        return usage_error(typo);
    // One line naming the flag; exit 2 for every usage error.
    if (std::string flag = unknown_flag(app, argc, argv); !flag.empty())
      return usage_error(flag + " (see --help)");
    return usage_error(std::string(e.what()) + " (see --help)");
  }
  if (v->parsed()) return validate_command{validate};
  if (rn->parsed()) return run_command{run};
  if (cl->parsed()) {
    if (std::string error = client_usage_error(*cl, client); !error.empty())
      return usage_error(error + " (see client --help)");
    return client_command{client};
  }
  if (!take_secret_file(server.jwt_secret, server.jwt_secret_file, "jwt-secret") ||
      !take_secret_file(server.admin_password, server.admin_password_file, "admin-password"))
    return exit_now{2};
  // `pikoci-node --jwt-secret S worker-token` reads naturally too: fall back to the top-level flag.
  auto secret_given = [&](std::string& secret) {
    if (secret.empty()) secret = server.jwt_secret;
    if (secret.empty()) std::cerr << "pikoci-node: " << jwt_secret_required << "\n";
    return !secret.empty();
  };
  if (wt->parsed()) {
    if (!secret_given(worker_token.jwt_secret)) return exit_now{2};
    return worker_token_command{worker_token};
  }
  if (ut->parsed()) {
    if (!secret_given(user_token.jwt_secret)) return exit_now{2};
    if (user_token.user.empty()) return usage_error("--user must not be empty");
    // check_ttl accepted it, so it parses.
    auto ttl = pipeline::parse_duration(user_token.ttl).value_or(pipeline::duration{0});
    user_token.ttl_seconds = std::chrono::duration_cast<std::chrono::seconds>(ttl).count();
    return user_token_command{user_token};
  }
  if (std::string problem = server_flags_problem(server); !problem.empty())
    return usage_error(problem);
  return server_command{server};
}

}  // namespace pikoci::node
