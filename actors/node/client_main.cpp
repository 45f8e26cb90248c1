#include "actors/node/client_main.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <functional>
#include <iostream>
#include <map>
#include <optional>
#include <sstream>
#include <variant>
#include <vector>

#include "config/node/pipeline_file.hpp"
#include "config/pipeline/eval.hpp"
#include "config/pipeline/json_decode.hpp"
#include "config/pipeline/parser.hpp"
#include "connectors/http_client/http_client.hpp"
#include "persistence/archive.hpp"
#include "persistence/store.hpp"

namespace pikoci::node {

using nlohmann::json;

namespace {

// Replies are read defensively: a field of an unexpected type reads as missing, never throws.

/// A reply (or event) body decoded with the node's JSON limits (pipeline::decode_json); replies
/// wrap what requests sent in a few levels, hence twice the request depth. Discarded when it
/// does not decode.
json decode_reply(const std::string& text) {
  return pipeline::decode_json(text, {http_client::default_max_response_bytes,
                                      2 * pipeline::max_json_depth})
      .value;
}

/// j[key], or null when `j` is not an object or has no such key.
const json& at(const json& j, const char* key) {
  static const json null;
  if (!j.is_object()) return null;
  auto it = j.find(key);
  return it == j.end() ? null : *it;
}

/// j[key] when it is an array, else an empty one.
const json& list(const json& j, const char* key) {
  static const json empty = json::array();
  const json& v = at(j, key);
  return v.is_array() ? v : empty;
}

/// A field as text: strings as they are, null or missing as "", anything else as compact JSON.
std::string text(const json& j, const char* key) {
  const json& v = at(j, key);
  if (v.is_null()) return {};
  if (v.is_string()) return v.get<std::string>();
  return v.dump();
}

std::string first_line(const std::string& s) {
  return s.substr(0, s.find('\n'));
}

/// `type name`, or just the type when the step has no name of its own.
std::string step_label(const json& step) {
  std::string type = text(step, "type"), name = text(step, "name");
  if (name.empty() || name == type) return type;
  return type + " " + name;
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

}  // namespace

namespace client_text {

std::string build_line(const json& build, bool with_pipeline) {
  std::string line;
  if (with_pipeline) line += text(build, "pipeline") + "/";
  line += text(build, "job") + " #" + text(build, "number") + " " + text(build, "status");
  if (std::string ms = text(build, "duration_ms"); !ms.empty()) line += " " + ms + "ms";
  if (std::string reason = text(build, "reason"); !reason.empty())
    line += " (" + first_line(reason) + ")";
  return line;
}

std::string build_logs(const json& build) {
  std::string out;
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

}  // namespace client_text

namespace {

using client_text::build_line;
using client_text::table;

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

// ---- text renderings of each verb's reply (`--json` prints the reply instead)

void print_pipelines(const json& body, std::ostream& out, std::ostream& err) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& p : list(body, "pipelines"))
    rows.push_back({text(p, "name"), paused_word(p), "jobs: " + join(at(p, "jobs"), ", ")});
  if (rows.empty()) err << "no pipelines\n";
  out << table(rows);
}

void print_pipeline(const json& body, std::ostream& out) {
  const json& p = at(body, "pipeline");
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
  // webhook_token is a credential: shown by --json only.
  std::vector<std::vector<std::string>> resources;
  for (const auto& r : list(p, "resources")) {
    std::string pinned = text(r, "pinned_version_id");
    std::string error = text(r, "check_error");
    std::string last = text(r, "last_check_at");
    resources.push_back({text(r, "canonical"), "interval " + text(r, "check_interval"),
                         last.empty() ? "never checked" : "checked " + last,
                         pinned.empty() ? "" : "pinned to " + pinned,
                         error.empty() ? "" : "check failed: " + first_line(error)});
  }
  out << "resources:\n" << indent_lines(table(resources), "  ");
}

void print_build(const json& body, std::ostream& out) {
  const json& b = at(body, "build");
  out << build_line(b, false) << "\n";
  out << "pipeline: " << text(b, "pipeline") << "  id: " << text(b, "id")
      << "  attempt: " << text(b, "attempt");
  if (std::string w = text(b, "worker"); !w.empty()) out << "  worker: " << w;
  if (std::string g = text(b, "concurrency_group"); !g.empty()) out << "  group: " << g;
  out << "\ntrigger: " << trigger_text(at(b, "trigger")) << "\n";
  out << "created " << text(b, "created_at");
  if (std::string s = text(b, "started_at"); !s.empty()) out << ", started " << s;
  if (std::string f = text(b, "finished_at"); !f.empty()) out << ", finished " << f;
  out << "\n";
  if (std::string reason = text(b, "reason"); !reason.empty()) out << "reason: " << reason << "\n";
  std::vector<std::vector<std::string>> inputs;
  for (const auto& in : list(b, "inputs"))
    inputs.push_back({text(in, "name"), text(in, "resource"), "version " + text(in, "version_id"),
                      at(in, "version").dump()});
  if (!inputs.empty()) out << "inputs:\n" << indent_lines(table(inputs), "  ");
  if (std::string s = steps_text(at(b, "steps"), "  "); !s.empty()) out << "steps:\n" << s;
  if (std::string h = steps_text(at(b, "hooks"), "  "); !h.empty()) out << "hooks:\n" << h;
}

void print_builds(const json& body, bool with_pipeline, std::ostream& out, std::ostream& err) {
  const json& builds = list(body, "builds");
  if (builds.empty()) err << "no builds\n";
  for (const auto& b : builds) out << build_line(b, with_pipeline) << "\n";
}

void print_versions(const json& body, std::ostream& out, std::ostream& err) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& v : list(body, "versions"))
    rows.push_back({text(v, "id"), text(v, "created_at"), at(v, "version").dump()});
  if (rows.empty()) err << "no versions\n";
  out << table(rows);
}

void print_queue(const json& q, std::ostream& out) {
  out << "in flight " << text(q, "in_flight") << "/" << text(q, "max_in_flight") << ", queued "
      << text(q, "queued") << "/" << text(q, "max_queue_size") << "\n";
  for (const auto& b : list(q, "started")) out << "  " << build_line(b, true) << "\n";
  for (const auto& p : list(q, "pending"))
    out << "  " << text(p, "position") << ". " << build_line(at(p, "build"), true)
        << "  blocked by " << text(p, "blocked_by") << "\n";
}

void print_workers(const json& body, std::ostream& out, std::ostream& err) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& w : list(body, "workers")) {
    std::string tags = join(at(w, "tags"), ",");
    rows.push_back({text(w, "name"), text(w, "kind"), text(w, "status"),
                    "running " + text(w, "running") + "/" + text(w, "concurrency"),
                    "queues " + join(at(w, "queues"), ","),
                    "heartbeat " + text(w, "last_heartbeat_at"),
                    tags.empty() ? "" : "tags " + tags});
  }
  if (rows.empty()) err << "no workers\n";
  out << table(rows);
}

// ---- requests

/// One API call and how to show its reply as text.
struct call {
  std::string method;
  std::string path;  // below /api/v1, segments already encoded
  std::optional<json> body;
  std::function<void(const json& reply, long status, std::ostream& out, std::ostream& err)> print;
};

/// A local failure before any request: unreadable files, bad JSON. Exit 2.
struct usage_error {
  std::string message;
};

class client {
 public:
  client(const client_flags& f, std::ostream& out, std::ostream& err)
      : f_(f), out_(out), err_(err) {
    base_ = f.url;
    while (!base_.empty() && base_.back() == '/') base_.pop_back();
  }

  /// Sends `c` and prints its reply; the exit code.
  int run(const call& c) {
    auto r = send(c.method, c.path, c.body);
    json reply;
    if (!succeeded(r, reply)) return report(r);
    if (f_.json) {
      if (!reply.is_null()) out_ << reply.dump(2) << "\n";
    } else {
      c.print(reply, r.status, out_, err_);
    }
    return 0;
  }

  /// `builds list PIPELINE`: no route lists one pipeline's builds, so every build is fetched and
  /// filtered here; the pipeline is looked up first so that an unknown one is an error.
  int builds_of_pipeline() {
    json reply;
    auto p = send("GET", "/pipelines/" + url_segment(f_.pipeline), std::nullopt);
    if (!succeeded(p, reply)) return report(p);
    auto r = send("GET", "/builds" + query(0), std::nullopt);
    if (!succeeded(r, reply)) return report(r);
    json all = list(reply, "builds");
    std::size_t limit = f_.limit < 0 ? 50 : static_cast<std::size_t>(f_.limit);
    json builds = json::array();
    for (auto& b : all) {
      if (limit != 0 && builds.size() >= limit) break;
      if (at(b, "pipeline") == f_.pipeline) builds.push_back(std::move(b));
    }
    reply = json{{"builds", std::move(builds)}};
    if (f_.json)
      out_ << reply.dump(2) << "\n";
    else
      print_builds(reply, false, out_, err_);
    return 0;
  }

  /// `export --output DIR`: the server's snapshot, unpacked into DIR (a RocksDB directory that
  /// `--db-system rocksdb --db-path DIR` starts from).
  int export_store() {
    std::error_code ec;
    if (std::filesystem::exists(f_.output, ec)) {
      err_ << "pikoci-node: " << f_.output << " already exists\n";
      return 2;
    }
    std::map<std::string, std::string> headers;
    if (!f_.token.empty()) headers["Authorization"] = "Bearer " + f_.token;
    // a store can be large: 10 minutes and 4 GiB at most
    auto r = http_client::request("GET", base_ + "/api/v1/admin/export", {}, headers,
                                  std::chrono::minutes(10), std::size_t{4} << 30);
    if (!r.ok() || r.status != 200) return report(r);
    try {
      persistence::unpack_directory(r.body, f_.output);
    } catch (const persistence::store_error& e) {
      err_ << "pikoci-node: export: " << e.what() << "\n";
      return 1;
    }
    if (f_.json)
      out_ << json{{"output", f_.output}, {"bytes", r.body.size()}}.dump(2) << "\n";
    else
      out_ << "exported to " << f_.output << " (" << r.body.size()
           << " bytes); start from it with --db-system rocksdb --db-path " << f_.output << "\n";
    return 0;
  }

  /// `builds logs --follow`: the build's events (SSE) as text until it ends: a `==> step` line
  /// when a step or hook starts, its output as it comes, then the build's line. Exit 0 once the
  /// build ended (whatever its status), 1 when the stream broke off before.
  int follow_logs() {
    std::map<std::string, std::string> headers{{"Accept", "text/event-stream"}};
    if (!f_.token.empty()) headers["Authorization"] = "Bearer " + f_.token;
    std::map<std::string, std::string> labels;  // step id → label shown
    json end;
    http_client::sse_parser parser([&](const std::string& type, const std::string& data) {
      auto j = decode_reply(data);
      if (j.is_discarded()) return;
      if (f_.json) {
        out_ << json{{"event", type}, {"data", j}}.dump() << "\n";
      } else if (type == "step" && labels.count(text(j, "id")) == 0) {
        auto parent = labels.find(text(j, "parent"));
        auto label = (parent == labels.end() ? "" : parent->second + " > ") + step_label(j);
        labels[text(j, "id")] = label;
        out_ << "==> " << label << "\n";
      } else if (type == "log") {
        out_ << text(j, "chunk");
      }
      out_.flush();
      if (type == "end") end = j;
    });
    const std::string path = "/pipelines/" + url_segment(f_.pipeline) + "/jobs/" +
                             url_segment(f_.job) + "/builds/" + url_segment(f_.number) + "/events";
    auto r = http_client::stream(
        base_ + "/api/v1" + path, headers,
        [&](std::string_view bytes) {
          parser.feed(bytes);
          return end.is_null();
        },
        std::chrono::milliseconds(0));
    if (!end.is_null()) {
      if (!f_.json) out_ << build_line(end, false) << "\n";
      return 0;
    }
    if (!r.ok() || r.status < 200 || r.status >= 300) return report(r);
    err_ << "pikoci-node: the event stream ended before the build did\n";
    return 1;
  }

  /// `?limit=N&status=a,b` from the flags; `limit` overrides --limit when not negative.
  std::string query(int limit = -1) const {
    std::string q;
    auto add = [&](const std::string& kv) { q += (q.empty() ? "?" : "&") + kv; };
    if (limit < 0) limit = f_.limit;
    if (limit >= 0) add("limit=" + std::to_string(limit));
    if (!f_.statuses.empty()) {
      // The comma is sent encoded: RESTinio's strict query parser refuses a bare one.
      std::string s;
      for (const auto& st : f_.statuses) s += (s.empty() ? "" : ",") + st;
      add("status=" + url_segment(s));
    }
    return q;
  }

 private:
  http_client::response send(const std::string& method, const std::string& path,
                             const std::optional<json>& body) {
    std::map<std::string, std::string> headers{{"Accept", "application/json"}};
    if (!f_.token.empty()) headers["Authorization"] = "Bearer " + f_.token;
    std::string payload;
    if (body) {
      headers["Content-Type"] = "application/json";
      payload = body->dump();
    }
    return http_client::request(method, base_ + "/api/v1" + path, payload, headers);
  }

  /// A 2xx reply whose body is JSON (parsed into `reply`) or empty (null, as 204's is).
  static bool succeeded(const http_client::response& r, json& reply) {
    if (!r.ok() || r.status < 200 || r.status >= 300) return false;
    reply = r.body.empty() ? json() : decode_reply(r.body);
    return !reply.is_discarded();
  }

  /// Prints why `r` failed: the envelope's code and message, 422 diagnostics as FILE:LINE:COL.
  int report(const http_client::response& r) {
    if (!r.ok()) {
      err_ << "pikoci-node: cannot reach " << base_ << ": " << r.error << "\n";
      return 1;
    }
    json reply = decode_reply(r.body);
    if (reply.is_discarded() || !reply.is_object() || !reply.contains("error")) {
      if (r.status >= 200 && r.status < 300)
        err_ << "pikoci-node: unexpected reply from " << base_ << " (not JSON)\n";
      else
        err_ << "pikoci-node: HTTP " << r.status << " from " << base_ << "\n";
      return 1;
    }
    if (f_.json) out_ << reply.dump(2) << "\n";
    const json& e = reply["error"];
    err_ << "pikoci-node: " << text(e, "code") << ": " << text(e, "message");
    if (r.status == 401 && f_.token.empty()) err_ << " (no token: use --token or PIKOCI_TOKEN)";
    if (auto ra = r.headers.find("retry-after"); ra != r.headers.end())
      err_ << " (retry after " << ra->second << "s)";
    err_ << "\n";
    std::string file = f_.file.empty() ? f_.pipeline : f_.file;
    for (const auto& d : list(reply, "diagnostics"))
      err_ << file << ":" << text(d, "line") << ":" << text(d, "column") << ": "
           << text(d, "message") << "\n";
    return 1;
  }

  const client_flags& f_;
  std::ostream& out_;
  std::ostream& err_;
  std::string base_;
};

std::variant<json, usage_error> set_body(const client_flags& f) {
  auto source = read_file_capped(f.file, max_pipeline_file_bytes);
  if (auto* e = std::get_if<file_error>(&source)) return usage_error{e->message};
  json vars_file = json::object();
  if (!f.vars_file.empty()) {
    auto vars_text = read_file_capped(f.vars_file, max_pipeline_file_bytes);
    if (auto* e = std::get_if<file_error>(&vars_text)) return usage_error{e->message};
    auto decoded = pipeline::decode_json(std::get<std::string>(vars_text),
                                         {max_pipeline_file_bytes, pipeline::max_json_depth});
    if (decoded.failure == pipeline::json_failure::too_deep)
      return usage_error{f.vars_file + ": " + decoded.error};
    vars_file = std::move(decoded.value);
    if (vars_file.is_discarded() || !vars_file.is_object())
      return usage_error{f.vars_file + ": expected a JSON object of variable values"};
  }
  const std::string& config = std::get<std::string>(source);
  return json{{"config", config}, {"vars", pipeline_vars(config, vars_file, f.vars)}};
}

json key_values(const std::vector<std::string>& pairs) {
  json out = json::object();
  for (const auto& kv : pairs) {
    auto eq = kv.find('=');  // the CLI checked there is one
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

/// The request of every verb but `builds list PIPELINE`.
std::variant<call, usage_error> plan(const client_flags& f, const client& c) {
  using reply_t = const json&;
  const std::string p = "/pipelines/" + url_segment(f.pipeline);
  const std::string j = p + "/jobs/" + url_segment(f.job);
  const std::string b = j + "/builds/" + url_segment(f.number);
  const std::string rc = p + "/resources/" + url_segment(f.resource);
  auto said = [](std::string line) {
    return [line](reply_t, long, std::ostream& out, std::ostream&) { out << line << "\n"; };
  };
  auto one_build = [](reply_t r, long, std::ostream& out, std::ostream&) {
    out << build_line(at(r, "build"), false) << "\n";
  };
  const std::string& g = f.group;
  const std::string& v = f.verb;
  const std::string quoted_p = "pipeline \"" + f.pipeline + "\"";
  const std::string quoted_j = "job \"" + f.job + "\"";

  if (g == "pipelines") {
    if (v == "set") {
      auto body = set_body(f);
      if (auto* e = std::get_if<usage_error>(&body)) return *e;
      return call{"PUT", p, std::get<json>(body),
                  [quoted_p](reply_t, long status, std::ostream& out, std::ostream&) {
                    out << quoted_p << (status == 201 ? " created" : " updated") << "\n";
                  }};
    }
    if (v == "list")
      return call{"GET", "/pipelines", std::nullopt,
                  [](reply_t r, long, std::ostream& out, std::ostream& err) {
                    print_pipelines(r, out, err);
                  }};
    if (v == "get")
      return call{"GET", p, std::nullopt, [](reply_t r, long, std::ostream& out, std::ostream&) {
                    print_pipeline(r, out);
                  }};
    if (v == "delete") return call{"DELETE", p, std::nullopt, said(quoted_p + " deleted")};
    if (v == "pause" || v == "unpause")
      return call{"POST", p + "/" + v, std::nullopt, said(quoted_p + " " + v + "d")};
    if (v == "concurrency") {
      json body{{"mode", f.mode == "none" ? "" : f.mode},
                {"group_template", f.group_template},
                {"cancel_running", f.cancel_running}};
      return call{"PUT", p + "/concurrency", body,
                  said(quoted_p + " concurrency: " + f.mode +
                       (f.group_template.empty() ? "" : " " + f.group_template) +
                       (f.cancel_running ? " (cancel running)" : ""))};
    }
  }
  if (g == "jobs") {
    if (v == "trigger") {
      json body{{"inputs", key_values(f.inputs)}, {"args", f.args}};
      return call{"POST", j + "/trigger", body, one_build};
    }
    if (v == "pause" || v == "unpause")
      return call{"POST", j + "/" + v, std::nullopt, said(quoted_j + " " + v + "d")};
  }
  if (g == "builds") {
    if (v == "list") {
      bool all = f.pipeline.empty();
      return call{"GET", (all ? std::string("/builds") : j + "/builds") + c.query(), std::nullopt,
                  [all](reply_t r, long, std::ostream& out, std::ostream& err) {
                    print_builds(r, all, out, err);
                  }};
    }
    if (v == "get")
      return call{"GET", b, std::nullopt,
                  [](reply_t r, long, std::ostream& out, std::ostream&) { print_build(r, out); }};
    if (v == "logs")
      return call{"GET", b, std::nullopt, [](reply_t r, long, std::ostream& out, std::ostream&) {
                    out << client_text::build_logs(at(r, "build"));
                  }};
    if (v == "cancel" || v == "retry") return call{"POST", b + "/" + v, std::nullopt, one_build};
  }
  if (g == "resources") {
    // The reply's canonical name, e.g. `cron.timer` for `timer`.
    auto said_resource = [name = f.resource](std::string what) {
      return [name, what](reply_t r, long, std::ostream& out, std::ostream&) {
        std::string canonical = text(at(r, "resource"), "canonical");
        out << (canonical.empty() ? name : canonical) << what << "\n";
      };
    };
    if (v == "check")
      return call{"POST", rc + "/check", std::nullopt, said_resource(": check requested")};
    if (v == "versions") {
      std::string q = f.limit >= 0 ? "?limit=" + std::to_string(f.limit) : "";
      return call{"GET", rc + "/versions" + q, std::nullopt,
                  [](reply_t r, long, std::ostream& out, std::ostream& err) {
                    print_versions(r, out, err);
                  }};
    }
    if (v == "pin")
      return call{"POST", rc + "/pin", json{{"version_id", f.version_id}},
                  said_resource(" pinned to version " + std::to_string(f.version_id))};
    if (v == "unpin") return call{"POST", rc + "/unpin", std::nullopt, said_resource(" unpinned")};
    if (v == "webhook-token")  // asked for, so printed (a resource listing hides it)
      return call{"POST", rc + "/webhook-token", std::nullopt,
                  [](reply_t r, long, std::ostream& out, std::ostream&) {
                    const auto& res = at(r, "resource");
                    out << text(res, "canonical") << " webhook token: "
                        << text(res, "webhook_token") << "\n";
                  }};
  }
  if (g == "queue")
    return call{"GET", "/queue", std::nullopt,
                [](reply_t r, long, std::ostream& out, std::ostream&) { print_queue(r, out); }};
  if (g == "workers")
    return call{
        "GET", "/workers", std::nullopt,
        [](reply_t r, long, std::ostream& out, std::ostream& err) { print_workers(r, out, err); }};
  return usage_error{"unknown command: client " + g + " " + v};
}

}  // namespace

json pipeline_vars(const std::string& hcl_source, const json& vars_file,
                   const std::vector<std::string>& vars) {
  json out = vars_file.is_object() ? vars_file : json::object();
  if (vars.empty()) return out;
  // Declared types of top-level variable blocks; a file that does not parse declares none here
  // (the server reports its errors).
  std::map<std::string, std::string> types;
  hcl::diagnostics ignored;
  hcl::file parsed = hcl::parse_file("pipeline", hcl_source, ignored);
  for (const auto& b : parsed.root.blocks) {
    if (b.type != "variable" || b.labels.size() != 1 || !b.content) continue;
    const auto* t = b.content->find_attribute("type");
    if (t == nullptr || !t->value) continue;
    // `type = number`, or quoted as `"number"` (as the loader accepts).
    std::optional<std::string> name = hcl::bare_name(*t->value);
    if (!name) {
      hcl::eval_context empty;
      if (auto v = hcl::evaluate(*t->value, empty, ignored); v && v->is_string())
        name = v->as_string();
    }
    if (name) types[b.labels[0]] = *name;
  }
  for (const auto& kv : vars) {
    auto eq = kv.find('=');
    std::string key = kv.substr(0, eq), value = eq == std::string::npos ? "" : kv.substr(eq + 1);
    auto type = types.find(key);
    hcl::value given = hcl::value::string(value);
    double n = 0;
    bool flag = false;
    if (type != types.end() && type->second == "number" && hcl::to_number(given, n))
      out[key] = hcl::to_json(hcl::value::number(n));
    else if (type != types.end() && type->second == "bool" && hcl::to_bool(given, flag))
      out[key] = flag;
    else
      out[key] = value;
  }
  return out;
}

std::string url_segment(const std::string& s) {
  static const char hex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

int run_client(const client_flags& flags, std::ostream& out, std::ostream& err) {
  try {
    client c(flags, out, err);
    if (flags.group == "builds" && flags.verb == "list" && !flags.pipeline.empty() &&
        flags.job.empty())
      return c.builds_of_pipeline();
    if (flags.group == "export") return c.export_store();
    if (flags.group == "builds" && flags.verb == "logs" && flags.follow) return c.follow_logs();
    auto planned = plan(flags, c);
    if (auto* e = std::get_if<usage_error>(&planned)) {
      err << "pikoci-node: " << e->message << "\n";
      return 2;
    }
    return c.run(std::get<call>(planned));
  } catch (const std::exception& e) {  // out of memory, or a reply shaped unlike any we know
    err << "pikoci-node: " << e.what() << "\n";
    return 1;
  }
}

int run_client(const client_flags& flags) {
  int code = run_client(flags, std::cout, std::cerr);
  std::cout.flush();
  return code != 0 ? code : std::cout ? 0 : 1;
}

}  // namespace pikoci::node
