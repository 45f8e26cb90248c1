#pragma once
// What `pikoci-node client` prints for each reply without `--json`: compact text, one build per
// line, tables aligned in columns. The command table (commands.cpp) names one of these per
// command.

#include <iosfwd>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "config/node/cli.hpp"

namespace pikoci::cli {

/// `hello #3 succeeded 1520ms  started 2026-12-03 06:40:12`,
/// `p/hello #4 failed 20ms  started 2026-12-03 06:41:02  (step "t" failed: exit status 1)`;
/// the start time (UTC) once the build started.
std::string build_line(const nlohmann::json& build, bool with_pipeline);
/// An API time (`2026-12-03T06:40:12.123Z`) as `2026-12-03 06:40:12`; other text as it is.
std::string short_time(const std::string& api_time);
/// Every step's and job hook's logs, each after a `==> type name [status]` header line; children
/// of in_parallel steps follow their group, named `in_parallel > task a`.
std::string build_logs(const nlohmann::json& build);
/// A build's events as text, as they come (`builds logs --follow`, `pikoci-node run`): a
/// `==> label` line when a step or hook starts (children of in_parallel steps named
/// `in_parallel > task a`), then its output.
class event_printer {
 public:
  explicit event_printer(std::ostream& out) : out_(out) {}
  void print(const std::string& type, const nlohmann::json& data);

 private:
  std::ostream& out_;
  std::map<std::string, std::string> labels_;  // step id → label shown
};
/// Rows of cells aligned in columns two spaces apart, without trailing blanks.
std::string table(const std::vector<std::vector<std::string>>& rows);
/// `type name`, or just the type when the step has no name of its own.
std::string step_label(const nlohmann::json& step);

/// A successful reply to show, and what a printer may need besides it.
struct shown {
  const nlohmann::json& reply;
  long status;
  const node::client_flags& flags;
  std::ostream& out;
  std::ostream& err;
};

/// How a command shows its reply.
using print_fn = void (*)(const shown&);

/// `line_template` on a line of its own, with `{p}` and `{j}` (the pipeline and job named),
/// `{r}` (the reply's canonical resource name, else the one named) and `{v}` (the version id)
/// filled in.
void say(const char* line_template, const shown& s);

void pipelines_text(const shown& s);     // pipelines list: name, paused, jobs
void pipeline_text(const shown& s);      // pipelines get: jobs and resources
void pipeline_set_text(const shown& s);  // pipeline "p" created / updated
void concurrency_text(const shown& s);   // pipeline "p" concurrency: mode template
void one_build_text(const shown& s);     // the reply's build as one line
void builds_text(const shown& s);        // a build per line; `p/` before each when across pipelines
void build_text(const shown& s);         // builds get: times, trigger, inputs, steps, hooks
void plan_text(const shown& s);          // builds plan: services, steps and hooks, commands, env
void logs_text(const shown& s);          // builds logs
void versions_text(const shown& s);      // id, created, version
void webhook_token_text(const shown& s);  // asked for, so printed (a resource listing hides it)
void queue_text(const shown& s);          // in flight, queued, the started and pending builds
void workers_text(const shown& s);        // name, kind, status, slots, queues, heartbeat, tags
void secrets_text(const shown& s);        // name, scope (never a value: the API has none)
void users_text(const shown& s);          // name, role, created (never a password)
void user_text(const shown& s);           // user "alice": maintain
void jobs_text(const shown& s);           // jobs list: name, paused, latest build
void job_text(const shown& s);            // jobs get: paused, plan, concurrency
void resources_text(const shown& s);      // resources list: checks, pins, errors
void version_added_text(const shown& s);  // version 7 of timer: {"ref":"abc"}
void notifications_text(const shown& s);  // id, status, build, notification, attempts, error
void notification_text(const shown& s);   // notifications retry: the message's new status
void stats_text(const shown& s);          // queue, workers, start latency, rates
void cluster_text(const shown& s);        // members, then each partition's owner and standbys
void health_text(const shown& s);         // ok or degraded (with the reasons), store, workers
void version_text(const shown& s);        // the node's version and commit

}  // namespace pikoci::cli
