#include "cli/text.hpp"

#include <algorithm>
#include <iostream>
#include <sstream>

#include "cli/reply.hpp"

namespace pikoci::cli {

using nlohmann::json;

namespace {

std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

void append_logs(const json& steps, const std::string& prefix, std::string& out) {
  for (const auto& step : steps) {
    std::string label = prefix + step_label(step);
    out += "==> " + label + " [" + text(step, "status") + "]\n";
    std::string logs = text(step, "logs");
    out += logs;
    if (!logs.empty() && logs.back() != '\n') out += '\n';
    append_logs(list(step, "steps"), label + " > ", out);
  }
}

std::string paused_word(const json& j) {
  return at(j, "paused") == true ? "paused" : "active";
}

std::string join(const json& items, const char* sep) {
  std::string out;
  for (const auto& item : items) {
    if (!out.empty()) out += sep;
    out += item.is_string() ? item.get<std::string>() : item.dump();
  }
  return out;
}

/// `resource resource=git.src version_id=5`: the type, then the other fields.
std::string trigger_text(const json& trigger) {
  std::string out = text(trigger, "type");
  if (!trigger.is_object()) return out;
  for (const auto& [k, v] : trigger.items()) {
    if (k == "type") continue;
    out += " " + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  }
  return out;
}

std::string steps_text(const json& steps, const std::string& indent) {
  std::string out;
  for (const auto& s : steps) {
    out += indent + step_label(s) + "  " + text(s, "status") + "\n";
    out += steps_text(list(s, "steps"), indent + "  ");
  }
  return out;
}

std::string indent_lines(const std::string& block, const std::string& indent) {
  std::string out;
  std::istringstream in(block);
  for (std::string line; std::getline(in, line);) out += indent + line + "\n";
  return out;
}

/// The value of placeholder `name` in a `say` text.
std::string placeholder(const std::string& name, const shown& s) {
  if (name == "p") return s.flags.pipeline;
  if (name == "j") return s.flags.job;
  if (name == "v") return std::to_string(s.flags.version_id);
  // the reply's canonical name, e.g. `cron.timer` for `timer`
  std::string canonical = text(at(s.reply, "resource"), "canonical");
  return canonical.empty() ? s.flags.resource : canonical;
}

/// A row per resource: name, interval, last check, pin, check error. The webhook_token is a
/// credential: shown by --json only.
std::vector<std::vector<std::string>> resource_rows(const json& resources) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : resources) {
    std::string pinned = text(r, "pinned_version_id");
    std::string error = text(r, "check_error");
    std::string last = text(r, "last_check_at");
    rows.push_back({text(r, "canonical"), "interval " + text(r, "check_interval"),
                    at(r, "checking") == true ? "checking now"
                    : last.empty()            ? "never checked"
                                              : "checked " + short_time(last),
                    pinned.empty() ? "" : "pinned to " + pinned,
                    error.empty() ? "" : "check failed: " + first_line(error)});
  }
  return rows;
}

/// A share (0.25) as a percentage ("25%"); "-" when null or not a share.
std::string percent(const json& share) {
  double x = share.is_number() ? share.get<double>() : -1;
  if (!(x >= 0 && x <= 1)) return "-";
  return std::to_string(static_cast<int>(x * 100 + 0.5)) + "%";
}

/// `a 2, b 1` from an object of counts; "none" when empty.
std::string counts(const json& by_name) {
  std::string out;
  if (by_name.is_object())
    for (const auto& [k, v] : by_name.items())
      out += (out.empty() ? "" : ", ") + k + " " + v.dump();
  return out.empty() ? "none" : out;
}

void job_plan(std::ostream& out, const json& plan, const std::string& indent) {
  for (const auto& st : plan) {
    out << indent << step_label(st) << "\n";
    job_plan(out, list(st, "steps"), indent + "  ");
    for (const auto& b : list(st, "branches")) {
      out << indent << "  " << text(b, "type");
      if (std::string c = text(b, "condition"); !c.empty()) out << "  when " << c;
      out << "\n";
      job_plan(out, list(b, "steps"), indent + "    ");
    }
  }
}

}  // namespace

std::string step_label(const json& step) {
  std::string type = text(step, "type"), name = text(step, "name");
  if (name.empty() || name == type) return type;
  return type + " " + name;
}

void event_printer::print(const std::string& type, const json& data) {
  if (type == "step" && labels_.count(text(data, "id")) == 0) {
    auto parent = labels_.find(text(data, "parent"));
    auto label = (parent == labels_.end() ? "" : parent->second + " > ") + step_label(data);
    labels_[text(data, "id")] = label;
    out_ << "==> " << label << "\n";
  } else if (type == "log") {
    out_ << text(data, "chunk");
  } else if (type == "attempt") {
    labels_.clear();  // the new attempt's steps have the same ids
    out_ << text(data, "marker") << "\n";
  }
  out_.flush();
}

std::string build_line(const json& build, bool with_pipeline) {
  std::string line;
  if (with_pipeline) line += text(build, "pipeline") + "/";
  line += text(build, "job") + " #" + text(build, "number") + " " + text(build, "status");
  if (text(build, "status") == "waiting_for_approval") {
    std::size_t approved = 0;
    for (const auto& a : list(build, "approvals")) approved += text(a, "action") == "approved";
    line +=
        " (" + std::to_string(approved) + "/" + text(build, "approvals_required") + " approvals)";
  }
  if (std::string ms = text(build, "duration_ms"); !ms.empty()) line += " " + ms + "ms";
  std::string started = text(build, "started_at");
  // `p #1 started 2026-...` rather than `p #1 started  started 2026-...`
  if (!started.empty())
    line += (text(build, "status") == "started" ? " " : "  started ") + short_time(started);
  if (std::string reason = text(build, "reason"); !reason.empty())
    line += (started.empty() ? " (" : "  (") + first_line(reason) + ")";
  return line;
}

std::string short_time(const std::string& t) {
  if (t.size() < 19 || t[10] != 'T') return t;
  return t.substr(0, 10) + " " + t.substr(11, 8);
}

std::string build_logs(const json& build) {
  std::string out;
  // a build sent out again: each earlier attempt's output under its marker, then the current one
  for (const auto& a : list(build, "attempts")) {
    out += text(a, "marker") + "\n";
    append_logs(list(a, "steps"), "", out);
    append_logs(list(a, "hooks"), "", out);
  }
  if (std::string marker = text(build, "attempt_marker"); !marker.empty()) out += marker + "\n";
  append_logs(list(build, "steps"), "", out);
  append_logs(list(build, "hooks"), "", out);
  return out;
}

std::string table(const std::vector<std::vector<std::string>>& rows) {
  std::vector<std::size_t> width;
  for (const auto& row : rows) {
    if (width.size() < row.size()) width.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) width[i] = std::max(width[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(width[i] - row[i].size() + 2, ' ');
    }
    line.erase(line.find_last_not_of(' ') + 1);
    out += line + "\n";
  }
  return out;
}

void say(const char* line_template, const shown& s) {
  std::string line = line_template;
  for (auto open = line.find('{'); open != std::string::npos; open = line.find('{', open)) {
    auto close = line.find('}', open);
    std::string value = placeholder(line.substr(open + 1, close - open - 1), s);
    line.replace(open, close - open + 1, value);
    open += value.size();
  }
  s.out << line << "\n";
}

void pipelines_text(const shown& s) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : list(s.reply, "pipelines"))
    rows.push_back({text(p, "name"), paused_word(p), "jobs: " + join(at(p, "jobs"), ", ")});
  if (rows.empty()) s.err << "no pipelines\n";
  s.out << table(rows);
}

void pipeline_text(const shown& s) {
  const json& p = at(s.reply, "pipeline");
  std::ostream& out = s.out;
  out << "pipeline " << text(p, "name") << "  " << paused_word(p) << "\n";
  out << "created " << text(p, "created_at") << ", updated " << text(p, "updated_at") << "\n";
  if (const auto& c = at(p, "concurrency"); !c.is_null() && !c.empty())
    out << "concurrency: " << c.dump() << "\n";
  if (const auto& v = at(p, "vars"); v.is_object() && !v.empty())
    out << "vars: " << v.dump() << "\n";
  std::vector<std::vector<std::string>> jobs;
  for (const auto& j : list(p, "jobs")) {
    const json& latest = at(j, "latest_build");
    jobs.push_back({j.is_string() ? j.get<std::string>() : text(j, "name"),
                    j.is_object() ? paused_word(j) : "",
                    latest.is_object()
                        ? "last: #" + text(latest, "number") + " " + text(latest, "status")
                        : ""});
  }
  out << "jobs:\n" << indent_lines(table(jobs), "  ");
  out << "resources:\n" << indent_lines(table(resource_rows(list(p, "resources"))), "  ");
}

void pipeline_set_text(const shown& s) {
  s.out << "pipeline \"" << s.flags.pipeline << "\"" << (s.status == 201 ? " created" : " updated")
        << "\n";
}

void concurrency_text(const shown& s) {
  const auto& f = s.flags;
  s.out << "pipeline \"" << f.pipeline << "\" concurrency: " << f.mode
        << (f.group_template.empty() ? "" : " " + f.group_template)
        << (f.cancel_running ? " (cancel running)" : "") << "\n";
}

void one_build_text(const shown& s) {
  s.out << build_line(at(s.reply, "build"), false) << "\n";
}

void builds_text(const shown& s) {
  const json& builds = list(s.reply, "builds");
  if (builds.empty()) s.err << "no builds\n";
  for (const auto& b : builds) s.out << build_line(b, s.flags.pipeline.empty()) << "\n";
}

namespace {

/// A command of a plan as one line: the runner's path and arguments, then its parameters.
std::string command_line(const json& c) {
  if (!c.is_object()) return "(no command)";
  const json& t = at(c, "tmpl");
  std::string line = text(t, "path");
  for (const auto& a : list(t, "args")) line += " " + (a.is_string() ? a.get<std::string>() : "");
  for (const auto& a : list(c, "args")) line += " " + (a.is_string() ? a.get<std::string>() : "");
  const json& params = at(c, "params");
  if (params.is_object())
    for (const auto& [k, v] : params.items())
      line += "  " + k + "=" + (v.is_string() ? v.get<std::string>() : v.dump());
  return line;
}

void plan_steps(std::ostream& out, const json& steps, const std::string& indent) {
  for (const auto& st : steps) {
    out << indent << text(st, "kind") << " " << text(st, "name");
    if (std::string t = text(st, "timeout_ms"); !t.empty()) out << "  timeout " << t << " ms";
    if (std::string n = text(st, "attempts"); !n.empty() && n != "1") out << "  attempts " << n;
    out << "\n";
    if (at(st, "command").is_object())
      out << indent << "  $ " << command_line(at(st, "command")) << "\n";
    plan_steps(out, list(st, "children"), indent + "  ");
    for (const auto& b : list(st, "branches")) {
      out << indent << "  " << text(b, "kind");
      if (std::string l = text(b, "label"); !l.empty()) out << " " << l;
      if (std::string c = text(b, "condition"); !c.empty()) out << "  when " << c;
      out << "\n";
      plan_steps(out, list(b, "steps"), indent + "    ");
    }
    for (const auto& h : list(st, "hooks")) {
      out << indent << "  " << text(h, "name") << ":\n";
      plan_steps(out, list(h, "steps"), indent + "    ");
    }
  }
}

}  // namespace

void plan_text(const shown& s) {
  const json& p = at(s.reply, "plan");
  std::ostream& out = s.out;
  out << text(p, "pipeline") << "/" << text(p, "job") << " #" << text(p, "number") << "\n";
  for (const auto& sv : list(p, "services"))
    out << "service " << text(sv, "name") << "\n  $ " << command_line(at(sv, "start")) << "\n";
  plan_steps(out, list(p, "steps"), "");
  for (const auto& h : list(p, "job_hooks")) {
    out << text(h, "name") << ":\n";
    plan_steps(out, list(h, "steps"), "  ");
  }
  const json& env = at(p, "env");
  if (env.is_object())
    for (const auto& [k, v] : env.items())
      out << "env " << k << "=" << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
}

void build_text(const shown& s) {
  const json& b = at(s.reply, "build");
  std::ostream& out = s.out;
  out << build_line(b, false) << "\n";
  out << "pipeline: " << text(b, "pipeline") << "  id: " << text(b, "id")
      << "  attempt: " << text(b, "attempt");
  if (std::string w = text(b, "worker"); !w.empty()) out << "  worker: " << w;
  if (std::string g = text(b, "concurrency_group"); !g.empty()) out << "  group: " << g;
  out << "\ntrigger: " << trigger_text(at(b, "trigger")) << "\n";
  out << "created " << text(b, "created_at");
  if (std::string st = text(b, "started_at"); !st.empty()) out << ", started " << st;
  if (std::string f = text(b, "finished_at"); !f.empty()) out << ", finished " << f;
  out << "\n";
  if (std::string reason = text(b, "reason"); !reason.empty()) out << "reason: " << reason << "\n";
  if (std::string why = text(b, "blocked_by"); !why.empty()) out << "blocked by " << why << "\n";
  const json& approvals = list(b, "approvals");
  if (!approvals.empty()) {
    out << "approvals (" << text(b, "approvals_required") << " needed):\n";
    for (const auto& a : approvals) {
      out << "  " << text(a, "username") << " " << text(a, "action") << " "
          << text(a, "created_at");
      if (std::string m = text(a, "message"); !m.empty()) out << ": " << first_line(m);
      out << "\n";
    }
  }
  std::vector<std::vector<std::string>> inputs;
  for (const auto& in : list(b, "inputs"))
    inputs.push_back({text(in, "name"), text(in, "resource"), "version " + text(in, "version_id"),
                      at(in, "version").dump()});
  if (!inputs.empty()) out << "inputs:\n" << indent_lines(table(inputs), "  ");
  if (std::string st = steps_text(at(b, "steps"), "  "); !st.empty()) out << "steps:\n" << st;
  if (std::string h = steps_text(at(b, "hooks"), "  "); !h.empty()) out << "hooks:\n" << h;
}

void logs_text(const shown& s) {
  s.out << build_logs(at(s.reply, "build"));
}

void versions_text(const shown& s) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : list(s.reply, "versions"))
    rows.push_back({text(v, "id"), text(v, "created_at"), at(v, "version").dump()});
  if (rows.empty()) s.err << "no versions\n";
  s.out << table(rows);
}

void webhook_token_text(const shown& s) {
  const auto& res = at(s.reply, "resource");
  s.out << text(res, "canonical") << " webhook token: " << text(res, "webhook_token") << "\n";
}

void queue_text(const shown& s) {
  const json& q = s.reply;
  s.out << "in flight " << text(q, "in_flight") << "/" << text(q, "max_in_flight") << ", queued "
        << text(q, "queued") << "/" << text(q, "max_queue_size") << "\n";
  for (const auto& b : list(q, "started")) s.out << "  " << build_line(b, true) << "\n";
  for (const auto& p : list(q, "pending"))
    s.out << "  " << text(p, "position") << ". " << build_line(at(p, "build"), true)
          << "  blocked by " << text(p, "blocked_by") << "\n";
  for (const auto& w : list(q, "waiting"))
    s.out << "  -. " << build_line(at(w, "build"), true) << "  blocked by " << text(w, "blocked_by")
          << "\n";
}

void workers_text(const shown& s) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& w : list(s.reply, "workers")) {
    std::string tags = join(at(w, "tags"), ",");
    rows.push_back({text(w, "name"), text(w, "kind"), text(w, "status"),
                    "running " + text(w, "running") + "/" + text(w, "concurrency"),
                    "queues " + join(at(w, "queues"), ","),
                    "heartbeat " + text(w, "last_heartbeat_at"),
                    tags.empty() ? "" : "tags " + tags});
  }
  if (rows.empty()) s.err << "no workers\n";
  s.out << table(rows);
}

void secrets_text(const shown& s) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& x : list(s.reply, "secrets"))
    rows.push_back({text(x, "name"), text(x, "scope")});
  if (rows.empty()) s.err << "no secrets\n";
  s.out << table(rows);
}

void users_text(const shown& s) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& u : list(s.reply, "users")) {
    bool builtin = at(u, "builtin").is_boolean() && at(u, "builtin").get<bool>();
    rows.push_back(
        {text(u, "username"), text(u, "role"), builtin ? "built-in" : text(u, "created_at")});
  }
  s.out << table(rows);
}

void user_text(const shown& s) {
  s.out << "user \"" << text(s.reply, "username") << "\": " << text(s.reply, "role") << "\n";
}

void jobs_text(const shown& s) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& j : list(s.reply, "jobs")) {
    const json& latest = at(j, "latest_build");
    rows.push_back({text(j, "name"), paused_word(j),
                    latest.is_object() ? "last: " + build_line(latest, false) : "no builds"});
  }
  if (rows.empty()) s.err << "no jobs\n";
  s.out << table(rows);
}

void job_text(const shown& s) {
  const json& j = at(s.reply, "job");
  s.out << "job " << text(j, "name") << "  " << paused_word(j) << "\n";
  if (std::string c = text(j, "concurrency"); !c.empty()) s.out << "concurrency: " << c << "\n";
  if (const auto& g = list(j, "serial_groups"); !g.empty())
    s.out << "serial groups: " << join(g, ", ") << "\n";
  s.out << "plan:\n";
  job_plan(s.out, list(j, "plan"), "  ");
}

void resources_text(const shown& s) {
  auto rows = resource_rows(list(s.reply, "resources"));
  if (rows.empty()) s.err << "no resources\n";
  s.out << table(rows);
}

void version_added_text(const shown& s) {
  const json& v = at(s.reply, "version");
  s.out << "version " << text(v, "id") << " of " << s.flags.resource << ": "
        << at(v, "version").dump() << "\n";
}

void notifications_text(const shown& s) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& n : list(s.reply, "notifications")) {
    std::string status = text(n, "status"), when;
    if (status == "delivered") when = "delivered " + short_time(text(n, "delivered_at"));
    if (status == "pending" && !text(n, "next_attempt_at").empty())
      when = "next attempt " + short_time(text(n, "next_attempt_at"));
    std::string error = first_line(text(n, "last_error"));
    rows.push_back({text(n, "id"), status,
                    text(n, "pipeline") + "/" + text(n, "job") + " #" + text(n, "build_number"),
                    text(n, "notification") + " (" + text(n, "kind") + ")",
                    "attempts " + text(n, "attempts"), when,
                    error.empty() ? "" : "last error: " + error});
  }
  if (rows.empty()) s.err << "no notifications\n";
  s.out << table(rows);
}

void notification_text(const shown& s) {
  const json& n = at(s.reply, "notification");
  s.out << "notification " << text(n, "id") << " " << text(n, "status") << "\n";
}

void stats_text(const shown& s) {
  const json& r = s.reply;
  std::ostream& out = s.out;
  out << "queue: " << text(r, "queue_depth") << " pending, in flight " << text(r, "in_flight")
      << "/" << text(r, "max_in_flight") << "\n";
  out << "blocked by: " << counts(at(r, "blocked_by")) << "\n";
  const json& w = at(r, "workers");
  out << "workers: " << text(w, "healthy") << " of " << text(w, "total") << " healthy, running "
      << text(w, "running") << "/" << text(w, "slots") << " slots ("
      << percent(at(w, "utilization")) << ")\n";
  const json& t = at(r, "trigger_to_start_ms");
  if (at(t, "p50").is_number())
    out << "trigger to start: p50 " << text(t, "p50") << "ms, p95 " << text(t, "p95") << "ms, p99 "
        << text(t, "p99") << "ms (samples: " << text(t, "samples") << ")\n";
  else
    out << "trigger to start: no build started yet\n";
  out << "builds per minute: " << text(r, "builds_per_minute") << " (last 5 minutes), success "
      << percent(at(r, "success_rate")) << " (last hour)\n";
  out << "finished: " << counts(at(r, "finished")) << "\n";
  const json& g = at(r, "group_contention");
  out << "group contention: " << text(g, "waited") << " of " << text(g, "group_builds")
      << " waited (" << percent(at(g, "rate")) << "), " << text(g, "waiting_now")
      << " waiting now\n";
}

void health_text(const shown& s) {
  const json& r = s.reply;
  s.out << text(r, "status") << "  db " << text(r, "db") << "  pubsub " << text(r, "pubsub")
        << "  workers " << text(r, "workers") << "  store " << text(at(r, "store"), "status");
  if (const json& k = at(r, "kafka"); k.is_object()) s.out << "  kafka " << text(k, "status");
  s.out << "\n";
  for (const auto& why : list(r, "reasons"))
    s.out << "  " << (why.is_string() ? why.get<std::string>() : why.dump()) << "\n";
}

namespace {

/// `rows` without the columns that are empty in every row (no member names a datacenter).
std::vector<std::vector<std::string>> without_empty_columns(
    std::vector<std::vector<std::string>> rows) {
  std::size_t width = 0;
  for (const auto& row : rows) width = std::max(width, row.size());
  for (std::size_t i = width; i-- > 0;) {
    bool empty = std::all_of(rows.begin(), rows.end(),
                             [i](const auto& row) { return i >= row.size() || row[i].empty(); });
    if (empty)
      for (auto& row : rows)
        if (i < row.size()) row.erase(row.begin() + static_cast<std::ptrdiff_t>(i));
  }
  return rows;
}

/// A partition as `client cluster` names it: its number, `G` for the global one.
std::string partition_name(const json& k, const json& count) {
  if (k.is_number_integer() && k == count) return "G";
  return k.is_string() ? k.get<std::string>() : k.dump();
}

}  // namespace

void cluster_text(const shown& s) {
  const json& r = s.reply;
  if (text(r, "mode") != "cluster") {
    s.out << "single node (not part of a cluster)\n";
    return;
  }
  const json& count = at(r, "partitions_count");
  const json& members = list(r, "members");
  s.out << "cluster \"" << text(r, "cluster") << "\": " << text(r, "partitions_count")
        << (count == 1 ? " partition, " : " partitions, ") << members.size() << " live member"
        << (members.size() == 1 ? "" : "s") << "\n";
  // members are named by their URL below, by their id when they have none
  std::map<std::string, std::string> url_of;
  std::vector<std::vector<std::string>> rows;
  for (const auto& m : members) {
    std::string url = text(m, "url");
    url_of[text(m, "id")] = url.empty() ? text(m, "id") : url;
    std::string owns, standby;
    for (const auto& k : list(m, "owned"))
      owns += (owns.empty() ? "" : ",") + partition_name(k, count);
    for (const auto& st : list(m, "standby"))
      standby += (standby.empty() ? "" : ", ") + partition_name(at(st, "partition"), count) +
                 " (lag " + text(st, "lag") + ")";
    std::string dc = text(m, "datacenter");
    rows.push_back(
        {"  " + text(m, "id"), url.empty() ? "(no url yet)" : url, text(m, "state"),
         dc.empty() ? "" : "datacenter " + dc, "started " + short_time(text(m, "started_at")),
         owns.empty() ? "owns none" : "owns " + owns, standby.empty() ? "" : "standby " + standby,
         at(m, "self") == true ? "(this node)" : ""});
  }
  s.out << "members:\n" << table(without_empty_columns(std::move(rows)));
  rows.clear();
  for (const auto& p : list(r, "partitions")) {
    std::string owner = text(p, "owner"), standbys, here = text(p, "local_state");
    if (std::string url = text(p, "owner_url"); !owner.empty() && !url.empty()) owner = url;
    for (const auto& st : list(p, "standbys")) {
      auto url = url_of.find(text(st, "member"));
      standbys += (standbys.empty() ? "" : ", ") +
                  (url != url_of.end() ? url->second : text(st, "member")) + " (lag " +
                  text(st, "lag") + ")";
    }
    rows.push_back({"  " + partition_name(at(p, "partition"), count),
                    owner.empty() ? "no owner" : owner,
                    owner.empty() ? "" : "epoch " + text(p, "epoch"),
                    standbys.empty() ? "no standby" : "standby " + standbys,
                    here.empty() || here == "idle" ? "" : "here " + here});
  }
  s.out << "partitions:\n" << table(rows);
}

void version_text(const shown& s) {
  s.out << "pikoci-node " << text(s.reply, "version") << " (commit " << text(s.reply, "commit")
        << ")\n";
}

}  // namespace pikoci::cli
