#include "cli/commands.hpp"

#include <chrono>
#include <filesystem>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <thread>
#include <utility>

#include "cli/bodies.hpp"
#include "cli/client.hpp"
#include "cli/login.hpp"
#include "cli/reply.hpp"
#include "cli/text.hpp"
#include "persistence/archive.hpp"
#include "persistence/store.hpp"

namespace pikoci::cli {

using nlohmann::json;

namespace {

/// A command that sends its own requests and prints their replies; `path` is its row's.
using run_fn = int (*)(const api& a, const std::string& path);

/// How a command shows a successful reply without `--json`: one line said (a `say` text), a
/// printer, or, for the few commands that are more than one request and its reply, a runner.
struct shows {
  constexpr shows(const char* text) : says(text) {}
  constexpr shows(print_fn fn) : print(fn) {}
  constexpr shows(run_fn fn) : runs(fn) {}
  const char* says = nullptr;
  print_fn print = nullptr;
  run_fn runs = nullptr;
};

/// One command: what is typed, the request it sends, what it prints, the body it makes.
struct command {
  const char* name;     // group and verb; PIPELINE, JOB, --follow where they change the request
  const char* request;  // METHOD /path?query below /api/v1 (expand() fills it from the flags)
  shows prints;
  body_fn body = nullptr;  // none: the request has no body
};

int pipeline_builds(const api& a, const std::string& path);
int follow_events(const api& a, const std::string& path);
int node_events(const api& a, const std::string& path);
int stream_events(const api& a, const std::string& path);
int download_export(const api& a, const std::string& path);
int login(const api& a, const std::string& path);
int logout(const api& a, const std::string& path);

// Every command of `pikoci-node client`. In a request, {p} {j} {n} {r} {v} are the PIPELINE,
// JOB, NUMBER, RESOURCE and VERSION_ID arguments, {u} the user NAME and {i} the notification ID
// (percent-encoded); after `?`, `limit` and `status` are sent when --limit and --status were
// given, `name=value` always. In a `say` text, {p} and {j} are the names given, {r} the
// resource's canonical name, {v} the version id given.
// clang-format off
const command commands[] = {
  // name                      request                                            prints, body
  {"pipelines set",            "PUT /pipelines/{p}",                              pipeline_set_text, pipeline_body},
  {"pipelines list",           "GET /pipelines",                                  pipelines_text},
  {"pipelines get",            "GET /pipelines/{p}",                              pipeline_text},
  {"pipelines delete",         "DELETE /pipelines/{p}",                           "pipeline \"{p}\" deleted"},
  {"pipelines pause",          "POST /pipelines/{p}/pause",                       "pipeline \"{p}\" paused"},
  {"pipelines unpause",        "POST /pipelines/{p}/unpause",                     "pipeline \"{p}\" unpaused"},
  {"pipelines concurrency",    "PUT /pipelines/{p}/concurrency",                  concurrency_text, concurrency_body},
  {"pipelines set-webhook-secret", "PUT /pipelines/{p}/webhooks/git",             "pipeline \"{p}\": git webhook secret set", webhook_secret_body},
  {"pipelines delete-webhook-secret", "DELETE /pipelines/{p}/webhooks/git",       "pipeline \"{p}\": git webhook secret deleted"},
  {"jobs list",                "GET /pipelines/{p}/jobs",                         jobs_text},
  {"jobs get",                 "GET /pipelines/{p}/jobs/{j}",                     job_text},
  {"jobs trigger",             "POST /pipelines/{p}/jobs/{j}/trigger",            one_build_text, trigger_body},
  {"jobs pause",               "POST /pipelines/{p}/jobs/{j}/pause",              "job \"{j}\" paused"},
  {"jobs unpause",             "POST /pipelines/{p}/jobs/{j}/unpause",            "job \"{j}\" unpaused"},
  {"builds list",              "GET /builds?limit&status",                        builds_text},
  // no route lists one pipeline's builds: GET /pipelines/{p} first, then all builds, filtered
  {"builds list PIPELINE",     "GET /builds?limit=0&status",                      pipeline_builds},
  {"builds list PIPELINE JOB", "GET /pipelines/{p}/jobs/{j}/builds?limit&status", builds_text},
  {"builds get",               "GET /pipelines/{p}/jobs/{j}/builds/{n}",          build_text},
  {"builds logs",              "GET /pipelines/{p}/jobs/{j}/builds/{n}",          logs_text},
  {"builds plan",              "GET /pipelines/{p}/jobs/{j}/builds/{n}/plan",     plan_text},
  {"builds logs --follow",     "GET /pipelines/{p}/jobs/{j}/builds/{n}/events",   follow_events},
  {"builds cancel",            "POST /pipelines/{p}/jobs/{j}/builds/{n}/cancel",  one_build_text},
  {"builds retry",             "POST /pipelines/{p}/jobs/{j}/builds/{n}/retry",   one_build_text},
  {"builds approve",           "POST /pipelines/{p}/jobs/{j}/builds/{n}/approve", one_build_text, message_body},
  {"builds reject",            "POST /pipelines/{p}/jobs/{j}/builds/{n}/reject",  one_build_text, message_body},
  {"builds warning",           "POST /pipelines/{p}/jobs/{j}/builds/{n}/warning", one_build_text},
  {"resources list",           "GET /pipelines/{p}/resources",                    resources_text},
  {"resources check",          "POST /pipelines/{p}/resources/{r}/check",         "{r}: check requested"},
  {"resources versions",       "GET /pipelines/{p}/resources/{r}/versions?limit", versions_text},
  {"resources pin",            "POST /pipelines/{p}/resources/{r}/pin",           "{r} pinned to version {v}", pin_body},
  {"resources unpin",          "POST /pipelines/{p}/resources/{r}/unpin",         "{r} unpinned"},
  {"resources webhook-token",  "POST /pipelines/{p}/resources/{r}/webhook-token", webhook_token_text},
  {"resources add-version",    "POST /pipelines/{p}/resources/{r}/versions",      version_added_text, version_body},
  {"resources trigger",        "POST /pipelines/{p}/resources/{r}/versions/{v}/trigger", builds_text},
  {"secrets set",              "PUT /secrets/{s}",                                "secret set", secret_body},
  {"secrets set --pipeline",   "PUT /pipelines/{p}/secrets/{s}",                  "secret set", secret_body},
  {"secrets delete",           "DELETE /secrets/{s}",                             "secret deleted"},
  {"secrets delete --pipeline", "DELETE /pipelines/{p}/secrets/{s}",              "secret deleted"},
  {"secrets list",             "GET /secrets",                                    secrets_text},
  {"secrets list --pipeline",  "GET /pipelines/{p}/secrets",                      secrets_text},
  {"users list",               "GET /users",                                      users_text},
  {"users create",             "POST /users",                                     user_text, user_body},
  {"users delete",             "DELETE /users/{u}",                               "user deleted"},
  {"users set-role",           "PUT /users/{u}",                                  user_text, role_body},
  {"users set-password",       "PUT /users/{u}",                                  "password changed", password_body},
  {"login",                    "POST /login",                                     login},
  {"logout",                   "- /",                                             logout},  // no request
  {"queue",                    "GET /queue",                                      queue_text},
  {"workers",                  "GET /workers",                                    workers_text},
  {"workers forget",           "DELETE /workers/{w}",                             "worker forgotten"},
  {"export",                   "GET /admin/export",                               download_export},
  {"notifications list",       "GET /notifications?limit&status",                 notifications_text},
  {"notifications retry",      "POST /notifications/{i}/retry",                   notification_text},
  {"stats",                    "GET /stats",                                      stats_text},
  {"events",                   "GET /events",                                     node_events},
  {"cluster",                  "GET /cluster",                                    cluster_text},
  {"health",                   "GET /health",                                     health_text},
  {"version",                  "GET /version",                                    version_text},
};
// clang-format on

/// The row's name for what was typed.
std::string name_of(const node::client_flags& f) {
  std::string name = f.group;
  if (!f.verb.empty()) name += " " + f.verb;
  if (name == "builds list" && !f.pipeline.empty())
    name += f.job.empty() ? " PIPELINE" : " PIPELINE JOB";
  if (name == "builds logs" && f.follow) name += " --follow";
  if (f.group == "secrets" && !f.pipeline.empty()) name += " --pipeline";
  return name;
}

/// The query item `item` of a request: `limit` and `status` from the flags when given.
std::optional<std::string> query_item(const std::string& item, const node::client_flags& f) {
  if (item == "limit")
    return f.limit >= 0 ? std::optional(item + "=" + std::to_string(f.limit)) : std::nullopt;
  if (item != "status") return item;
  if (f.statuses.empty()) return std::nullopt;
  // The comma is sent encoded: RESTinio's strict query parser refuses a bare one.
  std::string s;
  for (const auto& st : f.statuses) s += (s.empty() ? "" : ",") + st;
  return item + "=" + url_segment(s);
}

/// A row's request with the flags filled in: the method and the path with its query.
std::pair<std::string, std::string> expand(const std::string& request,
                                           const node::client_flags& f) {
  const std::map<char, std::string> args{
      {'p', f.pipeline},     {'j', f.job},
      {'n', f.number},       {'r', f.resource},
      {'s', f.secret},       {'u', f.username},
      {'i', f.notification}, {'v', std::to_string(f.version_id)}, {'w', f.worker}};
  auto space = request.find(' ');
  auto mark = request.find('?');
  std::string path;
  for (auto i = space + 1; i < std::min(mark, request.size()); ++i) {
    bool arg = request[i] == '{' && i + 2 < request.size() && request[i + 2] == '}';
    path += arg ? url_segment(args.at(request[i + 1])) : std::string(1, request[i]);
    if (arg) i += 2;
  }
  std::string query;
  for (auto pos = mark; pos < request.size();) {
    auto end = std::min(request.find('&', pos + 1), request.size());
    if (auto item = query_item(request.substr(pos + 1, end - pos - 1), f))
      query += (query.empty() ? "?" : "&") + *item;
    pos = end;
  }
  return {request.substr(0, space), path + query};
}

/// Prints a usage error; exit 2.
int usage(const api& a, const std::string& message) {
  a.err << "pikoci-node: " << message << "\n";
  return 2;
}

/// The one request of `c` and its reply shown.
int one_request(const api& a, const command& c, const std::string& method,
                const std::string& path) {
  std::optional<json> body;
  if (c.body != nullptr) {
    auto made = c.body(a.flags);
    if (auto* e = std::get_if<usage_error>(&made)) return usage(a, e->message);
    body = std::move(std::get<json>(made));
  }
  auto r = a.send(method, path, body);
  json reply;
  if (!api::succeeded(r, reply)) return a.report(r);
  shown s{reply, r.status, a.flags, a.out, a.err};
  if (a.flags.json) {
    // an empty reply (204) is an empty object, so that every command's output parses
    a.out << (reply.is_null() ? json::object() : reply).dump(2) << "\n";
  } else if (c.prints.says != nullptr) {
    say(c.prints.says, s);
  } else {
    c.prints.print(s);
  }
  return 0;
}

int pipeline_builds(const api& a, const std::string& path) {
  json reply;
  auto p = a.send("GET", "/pipelines/" + url_segment(a.flags.pipeline));
  if (!api::succeeded(p, reply)) return a.report(p);
  auto r = a.send("GET", path);
  if (!api::succeeded(r, reply)) return a.report(r);
  json all = list(reply, "builds");
  std::size_t limit = a.flags.limit < 0 ? 50 : static_cast<std::size_t>(a.flags.limit);
  json builds = json::array();
  for (auto& b : all) {
    if (limit != 0 && builds.size() >= limit) break;
    if (at(b, "pipeline") == a.flags.pipeline) builds.push_back(std::move(b));
  }
  reply = json{{"builds", std::move(builds)}};
  if (a.flags.json)
    a.out << reply.dump(2) << "\n";
  else
    builds_text({reply, r.status, a.flags, a.out, a.err});
  return 0;
}

/// The leading number of a build number ("3" of "3.1"); 0 when there is none.
long long build_base(const std::string& number) {
  long long n = 0;
  for (char c : number) {
    if (c < '0' || c > '9' || n > 1'000'000'000'000LL) break;
    n = n * 10 + (c - '0');
  }
  return n;
}

/// After a 404 for build NUMBER: whether it is still to come (the job exists and its newest
/// build is older), so `--follow` waits for it rather than failing.
bool build_still_to_come(const api& a) {
  auto r = a.send("GET", "/pipelines/" + url_segment(a.flags.pipeline) + "/jobs/" +
                             url_segment(a.flags.job) + "/builds?limit=1");
  json reply;
  if (!api::succeeded(r, reply)) return false;
  const json builds = list(reply, "builds");
  if (builds.empty()) return true;
  const auto wanted = build_base(a.flags.number), newest = build_base(text(builds[0], "number"));
  const bool retry = a.flags.number.find('.') != std::string::npos;
  return wanted > newest || (retry && wanted == newest);
}

/// The build's events (SSE) as text until it ends: a `==> step` line when a step or hook
/// starts, its output as it comes, then the build's line. A build that does not exist yet is
/// waited for, up to --wait seconds. Exit 0 once the build ended (whatever its status), 1 when
/// the stream broke off before or the build did not come.
int follow_events(const api& a, const std::string& path) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(a.flags.wait);
  bool said = false;
  for (;;) {
    auto r = a.send("GET", path.substr(0, path.size() - std::string("/events").size()));
    json reply;
    if (api::succeeded(r, reply) || r.status != 404 || !build_still_to_come(a)) break;
    if (std::chrono::steady_clock::now() >= deadline) {
      if (a.flags.wait == 0) return a.report(r);
      a.err << "pikoci-node: build " << a.flags.number << " of " << a.flags.pipeline << "/"
            << a.flags.job << " did not come within " << a.flags.wait << "s\n";
      return 1;
    }
    if (!said) {
      a.err << "pikoci-node: waiting for build " << a.flags.number << " of " << a.flags.pipeline
            << "/" << a.flags.job << " (up to " << a.flags.wait << "s, see --wait)\n";
      a.err.flush();
      said = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  return stream_events(a, path);
}

/// The build's events (SSE) printed until the build ends (follow_events). A stream that breaks
/// before `end` (a node stopping, the pipeline moving to another node) is opened again with
/// the id of the last event printed, so the node sends only what came after it: up to
/// `follow_reconnects` times in a row, half a second apart.
int stream_events(const api& a, const std::string& path) {
  constexpr int follow_reconnects = 5;
  event_printer printer(a.out);
  json end;
  http_client::sse_parser parser([&](const std::string& type, const std::string& data) {
    auto j = decode_reply(data);
    if (j.is_discarded()) return;
    if (type == "reset" && !a.flags.json) {
      // the node could not resume from the id sent: the build is sent again from its start
      a.err << "pikoci-node: the event stream started again from the build's start\n";
      a.err.flush();
      return;
    }
    if (a.flags.json) {
      a.out << json{{"event", type}, {"data", j}}.dump() << "\n";
      a.out.flush();
    } else {
      printer.print(type, j);
    }
    if (type == "end") end = j;
  });
  int tries = 0;
  for (;;) {
    bool got = false;  // an event came on this connection
    std::string before = parser.last_id();
    auto r = a.stream(
        path,
        [&](std::string_view bytes) {
          parser.feed(bytes);
          got = got || parser.last_id() != before;
          return end.is_null();
        },
        parser.last_id());
    if (!end.is_null()) {
      if (!a.flags.json) a.out << build_line(end, false) << "\n";
      return 0;
    }
    bool answered = r.status >= 200 && r.status < 300;
    // an error answer ends it, but a 503 (the pipeline moving between nodes) is tried again
    bool again = r.status == 0 || answered || r.status == 503;
    if (got) tries = 0;
    if (!again || parser.last_id().empty() || ++tries > follow_reconnects) {
      if (!answered) return a.report(r);
      a.err << "pikoci-node: the event stream ended before the build did\n";
      return 1;
    }
    parser.restart();
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

/// GET /events: a line per build status change (a JSON line per event with --json) as they
/// come, until interrupted or --limit events. Exit 0 after --limit events, 1 when the stream
/// broke off.
int node_events(const api& a, const std::string& path) {
  long long left = a.flags.limit;  // -1: no end
  http_client::sse_parser parser([&](const std::string& type, const std::string& data) {
    auto j = decode_reply(data);
    if (left == 0 || j.is_discarded()) return;
    if (a.flags.json)
      a.out << json{{"event", type}, {"data", j}}.dump() << "\n";
    else if (type == "build")
      a.out << build_line(j, true) << "\n";
    else
      return;
    a.out.flush();
    if (left > 0) --left;
  });
  auto r = a.stream(path, [&](std::string_view bytes) {
    parser.feed(bytes);
    return left != 0;
  });
  if (left == 0) return 0;
  if (!r.ok() || r.status < 200 || r.status >= 300) return a.report(r);
  a.err << "pikoci-node: the event stream ended\n";
  return 1;
}

/// The server's snapshot, unpacked into --output (a RocksDB directory that
/// `--db-system rocksdb --db-path DIR` starts from).
int download_export(const api& a, const std::string& path) {
  const std::string& output = a.flags.output;
  std::error_code ec;
  if (std::filesystem::exists(output, ec)) return usage(a, output + " already exists");
  auto r = a.download(path);
  if (!r.ok() || r.status != 200) return a.report(r);
  try {
    persistence::unpack_directory(r.body, output);
  } catch (const persistence::store_error& e) {
    a.err << "pikoci-node: export: " << e.what() << "\n";
    return 1;
  }
  if (a.flags.json)
    a.out << json{{"output", output}, {"bytes", r.body.size()}}.dump(2) << "\n";
  else
    a.out << "exported to " << output << " (" << r.body.size()
          << " bytes); start from it with --db-system rocksdb --db-path " << output << "\n";
  return 0;
}

/// POST /login, then the token kept for --url (never printed, even with --json).
int login(const api& a, const std::string& path) {
  auto made = login_body(a.flags);
  if (auto* e = std::get_if<usage_error>(&made)) return usage(a, e->message);
  const json& body = std::get<json>(made);
  auto r = a.send("POST", path, body);
  json reply;
  if (!api::succeeded(r, reply)) return a.report(r);
  std::string username = text(body, "username"), role = text(reply, "role");
  if (auto error = store_token(a.url(), username, text(reply, "token")); !error.empty()) {
    a.err << "pikoci-node: login: " << error << "\n";
    return 1;
  }
  if (a.flags.json)
    a.out << json{{"url", a.url()},
                  {"username", username},
                  {"role", role},
                  {"token_file", token_file().string()}}
                 .dump(2)
          << "\n";
  else
    a.out << "logged in to " << a.url() << " as " << username << " (" << role << "); token kept in "
          << token_file().string() << "\n";
  return 0;
}

/// Forgets the kept token of --url; no request (the token stays valid until it expires).
int logout(const api& a, const std::string&) {
  bool forgotten = false;
  if (auto error = forget_token(a.url(), forgotten); !error.empty()) {
    a.err << "pikoci-node: logout: " << error << "\n";
    return 1;
  }
  if (a.flags.json)
    a.out << json{{"url", a.url()}, {"forgotten", forgotten}}.dump(2) << "\n";
  else
    a.out << (forgotten ? "logged out of " : "no token kept for ") << a.url() << "\n";
  return 0;
}

int run(const api& a) {
  const std::string name = name_of(a.flags);
  for (const auto& c : commands) {
    if (name != c.name) continue;
    auto [method, path] = expand(c.request, a.flags);
    if (c.prints.runs != nullptr) return c.prints.runs(a, path);
    return one_request(a, c, method, path);
  }
  return usage(a, "unknown command: client " + a.flags.group + " " + a.flags.verb);
}

}  // namespace

int run_client(const node::client_flags& flags, std::ostream& out, std::ostream& err) {
  try {
    return run(api(flags, out, err));
  } catch (const std::exception& e) {  // out of memory, or a reply shaped unlike any we know
    err << "pikoci-node: " << e.what() << "\n";
    return 1;
  }
}

std::vector<std::pair<std::string, bool>> command_table() {
  std::vector<std::pair<std::string, bool>> out;
  for (const auto& c : commands) out.emplace_back(c.name, c.prints.runs == nullptr);
  return out;
}

int run_client(const node::client_flags& flags) {
  int code = run_client(flags, std::cout, std::cerr);
  std::cout.flush();
  return code != 0 ? code : std::cout ? 0 : 1;
}

}  // namespace pikoci::cli
