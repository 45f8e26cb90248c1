#include "node/run_main.hpp"

#include <chrono>
#include <filesystem>
#include <future>
#include <iostream>
#include <mutex>
#include <set>
#include <thread>

#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include "actors/server/resolve.hpp"
#include "cli/text.hpp"
#include "config/node/pipeline_file.hpp"
#include "config/pipeline/inputs.hpp"
#include "config/pipeline/json_decode.hpp"
#include "node/runtime.hpp"
#include "node/server_main.hpp"

namespace pikoci::node {
namespace {

using nlohmann::json;

constexpr const char* local_pipeline = "local";
constexpr std::size_t max_version_bytes = 64 * 1024;
/// How long a check may take before the run gives up on it.
constexpr std::chrono::minutes max_check_wait{30};

int usage(const std::string& message) {
  std::cerr << "pikoci-node run: " << message << "\n";
  return 2;
}

/// The build's events printed as they come; `ended` holds the build once its stream is over.
class printing_sink : public proto::event_sink {
 public:
  bool push(const std::string& type, const std::string& data, const std::string&) override {
    auto j = json::parse(data, nullptr, false);
    if (j.is_discarded()) return true;
    std::lock_guard<std::mutex> lock(mu_);
    if (type == "end") {
      end_ = std::move(j);
    } else {
      printer_.print(type, j);
    }
    return true;
  }
  void close() override {
    std::lock_guard<std::mutex> lock(mu_);
    if (closed_) return;
    closed_ = true;
    done_.set_value(end_);
  }
  std::future<json> ended() { return done_.get_future(); }

 private:
  std::mutex mu_;
  cli::event_printer printer_{std::cout};
  json end_;
  bool closed_ = false;
  std::promise<json> done_;
};

/// `k=v` flags (the parser checked the `=`) as a map; the last of a name wins.
std::map<std::string, std::string> key_values(const std::vector<std::string>& flags) {
  std::map<std::string, std::string> out;
  for (const auto& kv : flags) {
    auto eq = kv.find('=');
    out[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  return out;
}

/// The resource a flag names: its canonical name, or a bare name that is unique.
const pipeline::resource* resource_named(const pipeline::pipeline_config& cfg,
                                         const std::string& name) {
  if (const auto* r = cfg.find_resource(name)) return r;
  const pipeline::resource* found = nullptr;
  for (const auto& r : cfg.resources) {
    if (r.name != name) continue;
    if (found != nullptr) return nullptr;
    found = &r;
  }
  return found;
}

/// `--version RES=JSON` flags by canonical resource name, or what is wrong with one.
std::variant<std::map<std::string, json>, std::string> given_versions(
    const pipeline::pipeline_config& cfg, const std::vector<std::string>& flags) {
  std::map<std::string, json> out;
  for (const auto& [name, text] : key_values(flags)) {
    const auto* r = resource_named(cfg, name);
    if (r == nullptr)
      return "--version " + name + ": no resource of that name (give type.name when the name " +
             "is not unique)";
    auto decoded = pipeline::decode_json(text, {max_version_bytes});
    bool strings = decoded && decoded.value.is_object() && !decoded.value.empty();
    if (strings)
      for (const auto& [k, v] : decoded.value.items()) strings = strings && v.is_string();
    if (!strings)
      return "--version " + name + ": expected a JSON object of strings, such as {\"ref\":\"abc\"}";
    out[r->canonical] = std::move(decoded.value);
  }
  return out;
}

/// The variables the command line gave, typed as the file declares them.
json given_variables(const pipeline::pipeline_config& cfg) {
  json out = json::object();
  for (const auto& v : cfg.variables)
    if (v.source == pipeline::variable_source::override_string ||
        v.source == pipeline::variable_source::override_json)
      out[v.name] = hcl::to_json(v.value);
  return out;
}

/// The resource's check, run once and awaited: "" once it found a version, else why not.
std::string check_once(const proto::gateway& gate, const std::string& canonical) {
  auto asked = gate.call_and_wait(proto::check_resource{local_pipeline, canonical});
  if (asked.failed()) return asked.failure->message;
  auto until = std::chrono::steady_clock::now() + max_check_wait;
  while (std::chrono::steady_clock::now() < until) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    auto r = gate.call_and_wait(proto::list_resources{local_pipeline});
    if (r.failed()) return r.failure->message;
    for (const auto& res : r.value["resources"]) {
      if (res["canonical"] != canonical || res["checking"] == true ||
          res["last_check_at"].is_null())
        continue;
      if (!res["check_error"].is_null()) return res["check_error"].get<std::string>();
      auto v = gate.call_and_wait(proto::list_versions{local_pipeline, canonical, 1});
      if (v.failed()) return v.failure->message;
      if (v.value["versions"].empty()) return "the check found no version";
      std::cout << "==> check " << canonical << ": " << v.value["versions"][0]["version"].dump()
                << "\n";
      return "";
    }
  }
  return "the check did not end within 30 minutes";
}

/// Every get of `job` gets its version: the one given, else the newest a check finds. Returns
/// "" or why the build cannot start.
std::string resolve_gets(const proto::gateway& gate, const pipeline::job& job,
                         const std::map<std::string, json>& given) {
  std::set<std::string> done;
  for (const auto* g : server::get_steps(job)) {
    if (!done.insert(g->canonical).second) continue;
    if (auto it = given.find(g->canonical); it != given.end()) {
      auto r = gate.call_and_wait(proto::add_version{local_pipeline, g->canonical, it->second});
      if (r.failed()) return g->canonical + ": " + r.failure->message;
      std::cout << "==> version " << g->canonical << ": " << it->second.dump() << "\n";
      continue;
    }
    auto error = check_once(gate, g->canonical);
    if (!error.empty()) return "check of " + g->canonical + " failed: " + error;
  }
  return "";
}

/// Follows build `number` to its end; SIGINT/SIGTERM cancel it. The build's final JSON.
json follow(const proto::gateway& gate, const std::string& job, const std::string& number) {
  auto sink = std::make_shared<printing_sink>();
  auto ended = sink->ended();
  auto watched = gate.call_and_wait(proto::watch_build{local_pipeline, job, number, sink});
  if (watched.failed()) {
    std::cerr << "pikoci-node run: " << watched.failure->message << "\n";
    return json();
  }
  bool cancelled = false;
  while (ended.wait_for(std::chrono::seconds(0)) != std::future_status::ready) {
    int sig = wait_term_signal("run", std::chrono::milliseconds(100));
    if (sig != 0 && !cancelled) {
      cancelled = true;
      gate.call_and_wait(proto::cancel_build{local_pipeline, job, number, "pikoci-node run"});
    }
  }
  return ended.get();
}

/// The loaded file's job and the run's inputs and versions, checked before anything starts.
struct run_request {
  std::string text;  // the file, as set on the runtime
  json vars;
  std::map<std::string, std::string> inputs;
  std::map<std::string, json> versions;
};

/// Starts the runtime, sets the pipeline, resolves the gets, triggers and follows the build.
int run_build(const run_flags& f, const pipeline::job& job, const run_request& req) {
  runtime_options ro;
  ro.local_run = true;
  std::unique_ptr<runtime> rt;
  try {
    rt = std::make_unique<runtime>(ro);
  } catch (const std::exception& e) {
    std::cerr << "pikoci-node run: cannot start: " << e.what() << "\n";
    return 1;
  }
  const auto& gate = rt->gateway();
  auto finish = [&](int code) {
    rt->stop_builds();
    rt.reset();
    // builds' directories are gone already; their parent would be left behind on every run
    std::error_code ec;
    std::filesystem::remove_all(worker_exec(ro).work_root, ec);
    return code;
  };
  auto set = gate.call_and_wait(proto::set_pipeline{local_pipeline, req.text, req.vars});
  if (set.failed()) return finish(usage(f.file + ": " + set.failure->message));
  if (auto error = resolve_gets(gate, job, req.versions); !error.empty()) {
    std::cerr << "pikoci-node run: " << error << "\n";
    return finish(1);
  }
  auto t = gate.call_and_wait(proto::trigger_job{local_pipeline, job.name, req.inputs, {}});
  if (t.failed()) {
    std::cerr << "pikoci-node run: " << t.failure->message << "\n";
    return finish(t.failure->code == domain::errc::bad_request ? 2 : 1);
  }
  auto number = t.value["build"]["number"].get<std::string>();
  auto end = follow(gate, job.name, number);
  if (end.is_null()) return finish(1);
  std::cout << cli::build_line(end, false) << "\n" << std::flush;
  return finish(end["status"] == "succeeded" ? 0 : 1);
}

}  // namespace

int run_local(const run_flags& f, const pipeline::fetch_fn& fetch) {
  auto logger = spdlog::stderr_color_mt("pikoci-node-run");
  spdlog::set_default_logger(logger);
  configure_logging(f.log_level);
  block_stop_signals();
  start_process_cleanup("auto");

  auto loaded = load_pipeline_file(f.file, f.vars, f.vars_file, fetch);
  if (auto* err = std::get_if<file_error>(&loaded)) return usage(err->message);
  const auto& result = std::get<pipeline::load_result>(loaded);
  if (!result.config || result.diags.has_errors()) {
    std::cerr << result.diags.format(f.file);
    return 2;
  }
  const auto& cfg = *result.config;
  const auto* job = cfg.find_job(f.job);
  if (job == nullptr) {
    std::string names;
    for (const auto& j : cfg.jobs) names += (names.empty() ? "" : ", ") + j.name;
    return usage("job \"" + f.job + "\" not found in " + f.file + " (jobs: " + names + ")");
  }
  run_request req;
  req.inputs = key_values(f.inputs);
  auto checked = pipeline::trigger_values(*job, req.inputs);
  if (auto* why = std::get_if<std::string>(&checked)) return usage(*why);
  auto versions = given_versions(cfg, f.versions);
  if (auto* why = std::get_if<std::string>(&versions)) return usage(*why);
  req.versions = std::get<0>(std::move(versions));
  auto text = read_file_capped(f.file, max_pipeline_file_bytes);
  if (auto* err = std::get_if<file_error>(&text)) return usage(err->message);
  req.text = std::get<std::string>(std::move(text));
  req.vars = given_variables(cfg);
  return run_build(f, *job, req);
}

}  // namespace pikoci::node
