#pragma once
// Command-line surface of the one binary: roles (`--role server|worker`) and tools (`validate`,
// `worker-token`, `user-token`, `client`).
// Every flag also reads an environment variable (flag name upper-cased, '-' → '_') and `--config`.

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace pikoci::node {

/// Flags of `pikoci-node --role server`. Only some are acted on yet; the others are accepted and
/// validated so configurations written today keep working.
struct server_flags {
  std::string host = "0.0.0.0";
  std::uint16_t port = 8080;
  std::string jwt_secret;
  std::string jwt_secret_file;  // read into jwt_secret by the parser
  std::string admin_password;
  std::string admin_password_file;  // read into admin_password by the parser
  std::string secret_key;           // the internal secret store's key ("": no store)
  std::string db_system = "mem";
  std::string db_path = "./pikoci-data";
  bool recover_store = false;  // open a damaged RocksDB store anyway, reporting what was dropped
  std::string pubsub_system = "mem";
  std::string kafka_brokers;
  std::string kafka_topic_prefix = "pikoci";
  bool run_worker = true;
  std::string worker_lease = "10s";  // a remote worker silent this long is stale
  int concurrency = 2;
  int max_in_flight = 10;
  int max_queue_size = 100;
  int max_builds_per_job = 1000;  // retention: finished builds kept per job (logs included)
  int notify_max_attempts = 10;   // notification attempts before a message is `failed`
  std::string notify_backoff_base = "1s";  // first retry waits up to this (doubling, full jitter)
  std::string notify_backoff_cap = "5m";   // no retry waits longer
  std::string pipeline_name;
  std::string pipeline_config;
  std::string vars_file;
  std::string drain_timeout = "10m";
  std::string build_cgroup = "auto";  // process cleanup: auto, off, or a cgroup v2 directory
  std::string cache_root;             // "": the user's cache directory (worker::default_cache_root)
  std::string log_level = "info";
  int max_connections = 0;  // parallel HTTP connections; 0: half the open-file limit, at most 4096
  std::string pipeline_eval_timeout = "10s";  // wall time of loading one pipeline
  int pipeline_eval_memory = 256;             // MiB of values loading one pipeline may produce
  int pipeline_max_jobs = 1000;               // jobs of one pipeline, for_each instances included
  std::string artifact_dir;   // "": <db-path>-artifacts with rocksdb, a temporary one with mem
  int max_artifact_size = 256;  // MiB of one artifact archive
  // cluster mode (docs/cluster.md)
  std::string cluster;         // "": a single server
  std::string advertise_url;   // "": http://<host>:<port> as bound
  int cluster_partitions = 12;       // P, fixed when the cluster is created
  int standby_replicas = 0;          // nodes keeping a warm copy of each partition
  std::string member_timeout = "6s";  // a silent node's partitions move after this
  std::string move_wait = "10s";      // a request for a moving partition waits this long, then 503
  std::string checkpoint_interval = "10m";  // RocksDB checkpoints of a cluster node; 0: none
};

/// Flags of `pikoci-node --role worker`.
struct worker_flags {
  std::string pikoci_url = "http://localhost:8080";
  std::string pubsub_system = "mem";  // only kafka works: mem is refused with a message
  std::string kafka_brokers;
  std::vector<std::string> queues{"jobs", "checks"};
  int concurrency = 1;
  std::vector<std::string> tags;
  std::string name;  // default: <hostname>-<pid>
  std::string drain_timeout = "10m";
  std::string build_cgroup = "auto";
  std::string cache_root;
  std::string worker_token;
  std::string worker_token_file;  // read into worker_token by the parser
  std::string log_level = "info";
};

/// `pikoci-node validate FILE [--var k=v]... [--vars FILE.json] [--offline]`
struct validate_flags {
  std::string file;
  std::vector<std::string> vars;  // k=v
  std::string vars_file;
  bool offline = false;  // do not fetch http(s) sources (each is noted instead)
};

/// `pikoci-node run FILE --job J [--var k=v]... [--vars F] [--input k=v]...
/// [--version RES=JSON]...`: one build of one job, locally, in the foreground.
struct run_flags {
  std::string file;
  std::string job;
  std::vector<std::string> vars;      // k=v
  std::string vars_file;
  std::vector<std::string> inputs;    // k=v
  std::vector<std::string> versions;  // RES=JSON (resource name or type.name)
  std::string log_level = "warn";     // the node's own log lines, on standard error
};

/// `pikoci-node worker-token --jwt-secret S`
struct worker_token_flags {
  std::string jwt_secret;
};

/// `pikoci-node user-token --jwt-secret S [--user NAME] [--role ROLE] [--ttl DURATION]`.
/// Only --jwt-secret reads the environment: USER and ROLE already mean something else.
struct user_token_flags {
  std::string jwt_secret;
  std::string user = "admin";
  std::string role = "admin";        // read, write, maintain or admin
  std::string ttl = "24h";           // as given, for --help
  std::int64_t ttl_seconds = 86400;  // parsed from `ttl`; 0 = never expires
};

/// `pikoci-node client [--url URL] [--token T] [--json] GROUP VERB ...`. Which of the positional
/// fields are set depends on the verb; see `client --help`.
struct client_flags {
  std::string url = "http://localhost:8080";
  std::string token;
  bool json = false;
  std::string group;  // pipelines, jobs, builds, resources, secrets, users, login, ...
  std::string verb;   // set, list, ...; empty for queue and workers
  std::string pipeline, job, number, resource, file;
  std::int64_t version_id = 0;
  std::vector<std::string> vars;      // pipelines set --var k=v
  std::string vars_file;              // pipelines set --vars FILE.json
  std::vector<std::string> inputs;    // jobs trigger --input k=v
  std::vector<std::string> args;      // jobs trigger --arg A
  std::vector<std::string> statuses;  // builds list --status a,b
  int limit = -1;                     // lists: -1 the server's default; events: no end
  std::string mode;                   // pipelines concurrency MODE
  std::string group_template;         // pipelines concurrency --group-template
  bool cancel_running = false;        // pipelines concurrency --cancel-running
  std::string output;                 // export --output DIR
  bool follow = false;                // builds logs --follow
  int wait = 60;                      // builds logs --follow --wait S: for a build not created yet
  std::string secret;                 // secrets set|delete NAME
  std::string secret_value;           // secrets set --value ("": standard input)
  std::string username;               // users create|delete|set-role|set-password NAME, login
  std::string worker;                 // workers forget NAME
  std::string role;                   // users create --role, users set-role ROLE
  std::string password;               // users create|set-password, login --password ("": ask)
  std::string message;                // builds approve|reject --message
  std::string notification;           // notifications retry ID
  std::vector<std::string> fields;    // resources add-version KEY=VALUE...
};

struct server_command {
  server_flags flags;
};
struct validate_command {
  validate_flags flags;
};
struct worker_command {
  worker_flags flags;
};
struct run_command {
  run_flags flags;
};
struct worker_token_command {
  worker_token_flags flags;
};
struct user_token_command {
  user_token_flags flags;
};
struct client_command {
  client_flags flags;
};
/// Parsing ended without a command to run (help printed, or a usage error): exit with this.
struct exit_now {
  int code = 0;
};

using command = std::variant<server_command, worker_command, validate_command, run_command,
                             worker_token_command, user_token_command, client_command, exit_now>;

/// Parses argv. `--help` prints usage and yields exit 0; unknown flags and bad values print one
/// line naming the flag and yield exit 2. `--*-file` secrets are read here. The caller wipes the
/// secrets from argv and the environment afterwards (secrets.hpp).
command parse_command_line(int argc, char** argv);

}  // namespace pikoci::node
