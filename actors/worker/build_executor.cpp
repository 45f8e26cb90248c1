#include "actors/worker/build_executor.hpp"

#include <poll.h>

#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <sstream>
#include <thread>

#include "actors/model/capped_log.hpp"
#include "config/pipeline/condition.hpp"
#include "config/pipeline/duration.hpp"
#include "config/pipeline/utf8.hpp"
#include "connectors/process/containment.hpp"
#include "domain/text.hpp"

namespace pikoci::worker {

namespace {

namespace fs = std::filesystem;
using clock = std::chrono::steady_clock;
using work::env_map;

std::string go_duration(std::chrono::milliseconds d) {
  return pipeline::format_duration(std::chrono::duration_cast<pipeline::duration>(d));
}

std::string random_suffix() {
  std::random_device rd;
  std::ostringstream s;
  s << std::hex << rd() << rd();
  return s.str();
}

/// What one step (with its attempts) came to.
struct step_outcome {
  status st = status::succeeded;
  std::string failure;  // for the build's reason
};

/// Which hooks run after something ended with `st`.
bool hook_applies(work::hook_kind k, status st) {
  switch (k) {
    case work::hook_kind::on_success:
      return st == status::succeeded;
    case work::hook_kind::on_failure:
      return st == status::failed || st == status::errored;
    case work::hook_kind::on_cancel:
      return st == status::cancelled;
    case work::hook_kind::ensure:
      return false;  // handled last, always
  }
  return false;
}

/// The command's `$CACHE_DIR`, created. `cache` may come from a Kafka message: only a relative
/// path of plain names is taken, anything else refuses the command.
std::optional<fs::path> cache_directory(const executor_options& opts, const std::string& cache,
                                        std::string& error) {
  fs::path rel(cache);
  bool plain = !cache.empty() && rel.is_relative() && cache.size() <= 1024;
  for (const auto& part : rel) plain = plain && part != "." && part != ".." && !part.empty();
  if (!plain) {
    error = "refused cache directory " + domain::quote(cache);
    return std::nullopt;
  }
  std::error_code ec;
  fs::path dir = opts.cache_root / rel;
  fs::create_directories(dir, ec);
  if (ec) {
    error = "cannot create cache directory " + dir.string() + ": " + ec.message();
    return std::nullopt;
  }
  return dir;
}

/// What a pipeline may pass to the node's own handlers: resource params, versions, put and
/// notify attributes, a notification's message, the build's variables and exports, and which resource the command is for.
bool handler_input(const std::string& k) {
  for (const char* prefix :
       {"param_", "version_", "put_", "notify_", "NOTIFY_MESSAGE", "BUILD_", "GET_", "TASK_",
        "INPUT_", "PIKOCI_RESOURCE"})
    if (k.rfind(prefix, 0) == 0) return true;
  return k == "handler";
}

/// A command and its environment layers with their secret placeholders resolved: copies are
/// made only of what mentions one.
struct resolved_command {
  std::optional<work::command_spec> cmd;  // none: the command as given
  std::vector<work::env_map> copies;
  std::vector<const work::env_map*> layers;
  std::string error;
};

resolved_command resolve_secrets(secret_resolver* secrets, const work::command_spec& cmd,
                                 std::initializer_list<const work::env_map*> layers) {
  resolved_command r;
  r.layers.assign(layers.begin(), layers.end());
  if (secrets == nullptr || !secrets->active()) return r;
  auto mentions = [](const work::env_map& m) {
    for (const auto& [k, v] : m)
      if (secret_resolver::mentions(v)) return true;
    return false;
  };
  bool in_cmd = mentions(cmd.params);
  for (const auto& a : cmd.args) in_cmd = in_cmd || secret_resolver::mentions(a);
  if (in_cmd) {
    r.cmd = cmd;
    r.error = secrets->resolve(*r.cmd);
    if (!r.error.empty()) return r;
  }
  r.copies.reserve(r.layers.size());
  for (auto& l : r.layers) {
    if (!mentions(*l)) continue;
    r.copies.push_back(*l);
    r.error = secrets->resolve(r.copies.back());
    if (!r.error.empty()) return r;
    l = &r.copies.back();
  }
  return r;
}

process::outcome refused(std::string error) {
  process::outcome o;
  o.error = std::move(error);
  return o;
}

/// Runs a secret type's get command in a directory of its own (removed after), with no build
/// variables: its output is returned, never logged.
secret_command_fn secret_runner(const executor_options& opts,
                                const process::cancel_source* cancel) {
  return [&opts, cancel](const work::command_spec& cmd) {
    secret_answer a;
    fs::path dir = opts.work_root / ("secret-" + random_suffix());
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec) {
      a.error = "cannot create work directory " + dir.string() + ": " + ec.message();
      return a;
    }
    executor_options o = opts;
    o.secrets = nullptr;
    model::capped_log out;
    auto po = run_command_spec(cmd, o, dir, {}, clock::now() + std::chrono::seconds(60), cancel,
                               [&](std::string_view c) { out.append(c); });
    fs::remove_all(dir, ec);
    if (po.succeeded()) {
      a.value = out.str();
      return a;
    }
    a.error = po.timed_out ? "timed out after 1m0s" : po.failure_text();
    // the command's own last words (an `error: ...` line), short: never the fetched data
    std::string text = out.str();
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    auto nl = text.rfind('\n');
    std::string last = nl == std::string::npos ? text : text.substr(nl + 1);
    if (!last.empty() && last.size() <= 300) a.error += ": " + last;
    return a;
  };
}

/// Masks every value the build's secrets resolved in what it reports (the one place on the
/// worker side): log chunks through a `mask_stream` per step (a value split across two chunks is
/// masked too; the held-back tail is flushed when the step ends), exports, put versions and
/// the build's reason.
class masking_sink : public build_sink {
 public:
  masking_sink(build_sink& inner, const secret_resolver& secrets)
      : inner_(inner), secrets_(secrets) {}

  void step_started(const step_ref& step) override { inner_.step_started(step); }

  void log(const step_ref& step, std::string_view chunk) override {
    auto m = secrets_.masker();
    std::string out;
    {
      std::lock_guard<std::mutex> lock(mu_);
      auto it = streams_.find(step.id);
      if (m->empty() && it == streams_.end()) {
        out = std::string(chunk);
      } else {
        if (it == streams_.end()) it = streams_.emplace(step.id, work::mask_stream{}).first;
        out = it->second.feed(*m, chunk);
      }
    }
    if (!out.empty()) inner_.log(step, out);
  }

  void step_finished(const step_ref& step, const step_result& result) override {
    auto m = secrets_.masker();
    std::string rest;
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (auto it = streams_.find(step.id); it != streams_.end()) {
        rest = it->second.finish(*m);
        streams_.erase(it);
      }
    }
    if (!rest.empty()) inner_.log(step, rest);
    if (m->empty()) {
      inner_.step_finished(step, result);
      return;
    }
    step_result masked = result;
    for (auto& [k, v] : masked.exports) v = m->mask(v);
    for (auto& v : masked.versions) v = m->mask_json(v);
    inner_.step_finished(step, masked);
  }

  void build_decided(const build_result& result) override {
    build_result masked = result;
    masked.reason = secrets_.masker()->mask(result.reason);
    inner_.build_decided(masked);
  }

 private:
  build_sink& inner_;
  const secret_resolver& secrets_;
  std::mutex mu_;
  std::map<std::string, work::mask_stream> streams_;
};

}  // namespace

process::outcome run_command_spec(const work::command_spec& cmd_in, const executor_options& opts,
                                  const std::filesystem::path& workdir,
                                  std::initializer_list<const work::env_map*> layers,
                                  std::optional<std::chrono::steady_clock::time_point> deadline,
                                  const process::cancel_source* cancel,
                                  const process::output_fn& on_output) {
  // secrets: placeholders become values here, where the command runs (reference §1.10)
  resolved_command resolved = resolve_secrets(opts.secrets, cmd_in, layers);
  if (!resolved.error.empty()) return refused(resolved.error);
  const work::command_spec& cmd = resolved.cmd ? *resolved.cmd : cmd_in;
  const auto& layer_list = resolved.layers;
  // a notify command's message (reference §1.8): its $VARs are expanded here, where the build's
  // exports and BUILD_STATUS are known
  std::optional<std::string> message, build_status;
  std::optional<std::string> cache_dir;
  if (!cmd.cache.empty()) {
    std::string error;
    auto dir = cache_directory(opts, cmd.cache, error);
    if (!dir) return refused(error);
    cache_dir = dir->string();
  }
  // runner template lookup: the command's params, then the layers (last wins), then the worker
  auto lookup = [&](const std::string& name) -> std::optional<std::string> {
    if (message && name == "NOTIFY_MESSAGE") return message;
    if (cache_dir && name == "CACHE_DIR") return cache_dir;
    if (build_status && name == "notify_build_status") return build_status;
    if (auto it = cmd.params.find(name); it != cmd.params.end()) return it->second;
    for (auto l = layer_list.rbegin(); l != layer_list.rend(); ++l)
      if (auto it = (*l)->find(name); it != (*l)->end()) return it->second;
    if (name == "WORKDIR") return workdir.string();
    if (auto it = opts.worker_env.find(name); it != opts.worker_env.end()) return it->second;
    return std::nullopt;
  };
  if (auto it = cmd.params.find("NOTIFY_MESSAGE"); it != cmd.params.end()) {
    // automatic notifications: the build's final status, known only here
    if (auto st = cmd.params.find("notify_build_status"); st != cmd.params.end())
      build_status = work::expand(st->second, lookup);
    message = work::expand(it->second, [&](const std::string& name) -> std::optional<std::string> {
      return name == "NOTIFY_MESSAGE" ? std::nullopt : lookup(name);
    });
  }
  work::expanded_command argv = work::expand_template(cmd.tmpl, lookup, cmd.args);
  if (argv.skip) {
    process::outcome ok;
    ok.started = true;
    ok.exit_code = 0;
    return ok;
  }
  // The node's own handlers get its URL and token; then the pipeline may set only the variables
  // they read as data, never ones that change what runs (PATH, LD_PRELOAD, ...), which could
  // otherwise hand the token to a program of the pipeline's choosing.
  auto bin = opts.worker_env.find("PIKOCI_NODE_BIN");
  bool node_handler = bin != opts.worker_env.end() && argv.path == bin->second &&
                      !argv.args.empty() && argv.args[0] == "builtin" && opts.node_handlers;
  auto allowed = [&](const std::string& k) { return !node_handler || handler_input(k); };
  // process environment: worker < layers in order < params < WORKDIR
  work::env_map env = opts.worker_env;
  for (const auto* layer : layer_list)
    for (const auto& [k, v] : *layer)
      if (allowed(k)) env[k] = v;
  for (const auto& [k, v] : cmd.params)
    if (allowed(k)) env[k] = v;
  if (message) env["NOTIFY_MESSAGE"] = *message;
  if (build_status) env["notify_build_status"] = *build_status;
  if (cache_dir) env["CACHE_DIR"] = *cache_dir;
  env["WORKDIR"] = workdir.string();
  if (node_handler)
    for (auto& [k, v] : opts.node_handlers->get()) env[k] = std::move(v);
  std::vector<std::string> envp;
  envp.reserve(env.size());
  for (const auto& [k, v] : env) envp.push_back(k + "=" + v);
  process::options po;
  po.deadline = deadline;
  po.grace = opts.grace;
  po.in_scope = opts.scope;
  // Output is bytes; everything downstream (logs, events, versions, the store, Kafka) is JSON
  // text. Invalid UTF-8 becomes U+FFFD here, where it enters, and a character split between two
  // reads is passed on whole.
  hcl::utf8_stream text;
  auto out = process::run(
      {argv.path, argv.args, std::move(envp), workdir.string()}, po,
      [&](std::string_view chunk) {
        auto valid = text.feed(chunk);
        if (!valid.empty() && on_output) on_output(valid);
      },
      cancel);
  if (auto rest = text.finish(); !rest.empty() && on_output) on_output(rest);
  return out;
}

namespace {

class build_run {
 public:
  build_run(const work::build_plan& plan, const executor_options& opts, build_sink& sink,
            const build_cancel& cancel)
      : plan_(plan), opts_(opts), sink_(sink), cancel_(cancel) {}

  build_result run() {
    build_result result;
    // everything the build starts, killed when it ends (docs/operations.md "Process cleanup")
    scope_ = std::make_unique<process::scope>("build-" + std::to_string(plan_.build_id) + "-" +
                                              std::to_string(plan_.attempt));
    opts_.scope = scope_.get();
    workdir_ = opts_.work_root / ("build-" + std::to_string(plan_.build_id) + "-" +
                                  std::to_string(plan_.attempt) + "-" + random_suffix());
    std::error_code ec;
    fs::create_directories(workdir_ / ".pikoci", ec);
    if (ec) {
      result.st = status::errored;
      result.reason = "cannot create work directory " + workdir_.string() + ": " + ec.message();
      return result;
    }
    if (plan_.timeout) job_deadline_ = clock::now() + *plan_.timeout;

    env_map exports;
    std::vector<std::size_t> started;  // services whose start succeeded
    bool services_up = start_services(started, result);
    for (std::size_t i = 0; services_up && i < plan_.steps.size(); ++i) {
      const auto& step = plan_.steps[i];
      if (cancel_.cancelled()) {
        result.st = status::cancelled;
        break;
      }
      if (job_timed_out()) break;
      step_outcome o = run_step(step, std::to_string(i), "", exports, exports, &cancel_.source());
      if (o.st == status::succeeded) continue;
      result.st = o.st;
      result.reason = o.failure;
      break;
    }
    stop_services(started);
    // The build is over: what its steps left running (`cmd &`, `setsid`, a service without a
    // stop, or one its stop did not end) goes now, before its status is reported.
    scope_->kill_all();
    // The job timeout wins over what the killed step reported (reference: "failed" with reason).
    bool timed_out = job_timed_out_ || job_timed_out();
    if (timed_out) {
      result.st = status::failed;
      result.reason = "job timed out after " + go_duration(*plan_.timeout);
    } else if (cancel_.cancelled() && result.st != status::succeeded) {
      result.st = status::cancelled;
      result.reason = "build cancelled";
    }
    sink_.build_decided(result);

    // Job hooks: the status is final before they run and they never change it.
    env_map hook_env = exports;
    hook_env["BUILD_STATUS"] = to_string(result.st);
    status hook_trigger = timed_out ? status::cancelled : result.st;
    run_hooks(plan_.job_hooks, hook_trigger, "job", hook_env, true);
    opts_.scope = nullptr;
    scope_.reset();  // the job hooks' leftovers too
    fs::remove_all(workdir_, ec);
    return result;
  }

 private:
  bool job_timed_out() const { return job_deadline_ && clock::now() >= *job_deadline_; }

  /// The tighter of a step deadline and the job deadline.
  std::optional<clock::time_point> deadline_for(const std::optional<work::millis>& timeout) const {
    std::optional<clock::time_point> d;
    if (timeout) d = clock::now() + *timeout;
    if (job_deadline_ && (!d || *job_deadline_ < *d)) d = job_deadline_;
    return d;
  }

  /// Starts the services in plan order, then waits for their ready checks concurrently (seed
  /// 002). False, with the build's failure in `result`, when one did not come up; `started`
  /// lists the services whose start succeeded either way.
  bool start_services(std::vector<std::size_t>& started, build_result& result) {
    const auto& services = plan_.services;
    for (std::size_t i = 0; i < services.size(); ++i) {
      if (cancel_.cancelled() || job_timed_out()) {
        result.st = cancel_.cancelled() ? status::cancelled : status::failed;
        return false;
      }
      const auto& svc = services[i];
      step_ref ref{"s" + std::to_string(i) + ":start", "service", svc.name + ":start", "", false};
      sink_.step_started(ref);
      auto po = run_command(svc.start, {}, {}, ref, deadline_for(std::nullopt), &cancel_.source(),
                            nullptr);
      step_result r;
      if (!po.succeeded()) {
        r.st = po.cancelled ? status::cancelled : po.started ? status::failed : status::errored;
        if (!po.cancelled) sink_.log(ref, "\n" + po.failure_text());
        sink_.step_finished(ref, r);
        result.st = r.st;
        result.reason = "service \"" + svc.name + "\" failed to start: " + po.failure_text();
        return false;
      }
      sink_.step_finished(ref, r);
      started.push_back(i);
    }
    std::vector<std::string> failures(services.size());
    std::vector<std::thread> checks;
    for (std::size_t i = 0; i < services.size(); ++i)
      if (services[i].ready) checks.emplace_back([&, i] { failures[i] = wait_ready(i); });
    for (auto& t : checks) t.join();
    for (const auto& f : failures) {
      if (f.empty()) continue;
      result.st = cancel_.cancelled() ? status::cancelled : status::failed;
      result.reason = f;
      return false;
    }
    return true;
  }

  /// Polls service `i`'s ready check every `interval` until it exits 0 (""), the timeout passes
  /// or the build is cancelled (the reason).
  std::string wait_ready(std::size_t i) {
    const auto& svc = plan_.services[i];
    step_ref ref{"s" + std::to_string(i) + ":ready", "service", svc.name + ":ready", "", false};
    sink_.step_started(ref);
    auto give_up = clock::now() + svc.timeout;
    step_result r;
    std::string failure;
    for (;;) {
      auto deadline = deadline_for(std::nullopt);
      if (!deadline || give_up < *deadline) deadline = give_up;
      auto po = run_command(*svc.ready, {}, {}, ref, deadline, &cancel_.source(), nullptr);
      if (po.succeeded()) break;
      if (po.cancelled || cancel_.cancelled()) {
        r.st = status::cancelled;
        failure = "build cancelled";
        break;
      }
      if (job_timed_out()) {
        r.st = status::failed;
        failure = "job timed out";
        break;
      }
      if (clock::now() + svc.interval >= give_up) {
        r.st = status::failed;
        failure = "service \"" + svc.name + "\" not ready after " + go_duration(svc.timeout);
        sink_.log(ref, "\n" + failure);
        break;
      }
      // the interval, cut short by a cancel
      pollfd p{cancel_.source().wait_fd(), POLLIN, 0};
      (void)poll(&p, 1, static_cast<int>(svc.interval.count()));
    }
    sink_.step_finished(ref, r);
    return failure;
  }

  /// Stops every started service whatever happened: not cancellable, 30 s each; a failing stop
  /// is recorded on its step and never changes the build's status.
  void stop_services(const std::vector<std::size_t>& started) {
    for (std::size_t i : started) {
      const auto& svc = plan_.services[i];
      if (!svc.stop) continue;
      step_ref ref{"s" + std::to_string(i) + ":stop", "service", svc.name + ":stop", "", false};
      sink_.step_started(ref);
      auto po = run_command(*svc.stop, {}, {}, ref, clock::now() + std::chrono::seconds(30),
                            nullptr, nullptr);
      step_result r;
      if (!po.succeeded()) {
        r.st = po.started ? status::failed : status::errored;
        sink_.log(ref, "\n" + (po.timed_out ? std::string("stop timed out after 30s")
                                            : po.failure_text()));
      }
      sink_.step_finished(ref, r);
    }
  }

  /// Runs one command, streaming its output to `ref`'s log. `out_log` keeps its tail too.
  process::outcome run_command(const work::command_spec& cmd, const env_map& exports,
                               const env_map& extra, const step_ref& ref,
                               std::optional<clock::time_point> deadline,
                               const process::cancel_source* cancel, model::capped_log* out_log) {
    return run_command_spec(cmd, opts_, workdir_, {&plan_.env, &exports, &extra}, deadline, cancel,
                            [&](std::string_view chunk) {
                              if (out_log != nullptr) out_log->append(chunk);
                              sink_.log(ref, chunk);
                            });
  }

  bool exists_in_workdir(const std::string& rel) const {
    std::error_code ec;
    return fs::exists(workdir_ / rel, ec);
  }

  /// One attempt of a get/task/put. Fills `result` on success.
  step_outcome attempt(const work::step_plan& step, const step_ref& ref, int n,
                       const env_map& exports, const process::cancel_source* cancel,
                       step_result& result) {
    step_outcome o;
    if (!step.command) {
      // no pull/push defined: a no-op success; a get still exports its version
      if (step.kind == work::step_kind::get)
        result.exports = work::get_exports(step.name, step.version);
      return o;
    }
    env_map extra;
    fs::path output_file = workdir_ / ".pikoci" / (ref.id + "-" + std::to_string(n) + ".out");
    if (step.kind == work::step_kind::task) extra["PIKOCI_OUTPUT"] = output_file.string();
    // a put's versions are its output's last line: only the (capped) tail is kept, and only there
    model::capped_log log;
    auto deadline = deadline_for(step.timeout);
    process::outcome po =
        run_command(*step.command, exports, extra, ref, deadline, cancel,
                    step.kind == work::step_kind::put ? &log : nullptr);
    if (!po.succeeded()) {
      o.st = po.cancelled ? status::cancelled : status::failed;
      if (po.timed_out && job_timed_out()) {
        job_timed_out_ = true;
        o.failure = "job timed out";
      } else if (po.timed_out) {
        o.failure = "step timed out after " + go_duration(*step.timeout);
      } else {
        o.failure = po.failure_text();
      }
      if (!po.started) o.st = status::errored;
      if (!po.cancelled) sink_.log(ref, "\n" + o.failure);
      return o;
    }
    for (const auto& out : step.outputs) {
      if (exists_in_workdir(out)) continue;
      o.st = status::failed;
      o.failure = "task finished but output \"" + out + "\" was not produced";
      sink_.log(ref, o.failure + "\n");
      return o;
    }
    switch (step.kind) {
      case work::step_kind::get:
        result.exports = work::get_exports(step.name, step.version);
        break;
      case work::step_kind::task: {
        // task_exports reads the first MiB; a huge file is not loaded beyond it
        std::ifstream in(output_file, std::ios::binary);
        std::string content(std::size_t{1} << 20, '\0');
        in.read(content.data(), static_cast<std::streamsize>(content.size()));
        content.resize(static_cast<std::size_t>(in.gcount()));
        result.exports = work::task_exports(step.name, content);
        break;
      }
      case work::step_kind::put:
        result.versions = work::parse_put_versions(log.str());
        break;
      case work::step_kind::notify:
      case work::step_kind::in_parallel:
      case work::step_kind::service:  // never in a plan (is_plan_step)
      case work::step_kind::if_chain:
        break;
    }
    return o;
  }

  /// A get/task/put/in_parallel step with its attempts and hooks. Exports it produces are added
  /// to `exports_out` (which may be `exports_in`).
  step_outcome run_step(const work::step_plan& step, const std::string& id,
                        const std::string& parent, const env_map& exports_in, env_map& exports_out,
                        const process::cancel_source* cancel) {
    step_ref ref{id, domain::to_string(step.kind), step.name, parent, false};
    sink_.step_started(ref);
    step_result result;
    step_outcome o;
    bool group =
        step.kind == work::step_kind::in_parallel || step.kind == work::step_kind::if_chain;
    if (step.kind == work::step_kind::in_parallel) {
      o = run_parallel(step, id, exports_in, result.exports, cancel);
    } else if (step.kind == work::step_kind::if_chain) {
      o = run_chain(step, ref, exports_in, result.exports, cancel);
    } else {
      for (const auto& in : step.inputs) {
        if (exists_in_workdir(in)) continue;
        o.st = status::failed;
        o.failure = "input \"" + in + "\" does not exist";
        sink_.log(ref, o.failure + "\n");
        break;
      }
      int attempts = std::max(1, step.attempts);
      for (int n = 1; o.st == status::succeeded && n <= attempts; ++n) {
        // the previous try's log ended with its failure text, without a newline
        if (n >= 2)
          sink_.log(ref, "\n--- attempt " + std::to_string(n) + "/" + std::to_string(attempts) +
                             " ---\n");
        o = attempt(step, ref, n, exports_in, cancel, result);
        if (o.st == status::succeeded || o.st == status::cancelled || job_timed_out_) break;
        if (n < attempts) o = step_outcome{};  // try again
      }
    }
    // a group's failure names the step inside it that failed
    if (o.st != status::succeeded && !o.failure.empty() && !group)
      o.failure = "step \"" + step.name + "\" failed: " + o.failure;
    result.st = o.st;
    sink_.step_finished(ref, result);
    if (o.st == status::succeeded)
      for (const auto& [k, v] : result.exports) exports_out[k] = v;
    run_hooks(step.hooks, o.st, id, exports_out, false);
    return o;
  }

  /// A conditional step: the branches' conditions are evaluated in order against the build's
  /// variables and the exports so far; the first true one (an `else` is) runs its steps like the
  /// plan's, the others are recorded `skipped`. Each branch is a record under the chain's, its
  /// steps under it. Only the branch that ran adds exports.
  step_outcome run_chain(const work::step_plan& chain, const step_ref& chain_ref,
                         const env_map& exports_in, env_map& exports_out,
                         const process::cancel_source* cancel) {
    const std::string& id = chain_ref.id;
    step_outcome o;
    auto lookup = [&](const std::string& name) -> std::optional<std::string> {
      if (auto it = exports_in.find(name); it != exports_in.end()) return it->second;
      if (auto it = plan_.env.find(name); it != plan_.env.end()) return it->second;
      return std::nullopt;
    };
    bool chosen = false;
    for (std::size_t i = 0; i < chain.branches.size(); ++i) {
      const auto& branch = chain.branches[i];
      std::string branch_id = id + "." + std::to_string(i);
      step_ref ref{branch_id, work::to_string(branch.kind),
                   branch.label.empty() ? work::to_string(branch.kind) : branch.label, id, false};
      sink_.step_started(ref);
      step_result result;
      if (chosen || o.st != status::succeeded) {
        result.st = status::skipped;
        sink_.step_finished(ref, result);
        continue;
      }
      std::string error;
      auto cond = pipeline::condition::parse(branch.condition, error);
      if (!cond) {
        o.st = result.st = status::failed;
        o.failure = work::to_string(branch.kind) + std::string(" ") +
                    domain::quote(ref.name) + ": condition " + domain::quote(branch.condition) +
                    " cannot be evaluated: " + error;
        sink_.log(ref, o.failure + "\n");
        sink_.step_finished(ref, result);
        continue;
      }
      bool taken = cond->evaluate(lookup);
      if (branch.kind != work::branch_kind::else_)
        sink_.log(ref, "condition " + domain::quote(branch.condition) + " is " +
                           (taken ? "true" : "false") + "\n");
      if (!taken) {
        result.st = status::skipped;
        sink_.step_finished(ref, result);
        continue;
      }
      chosen = true;
      o = run_branch(branch, branch_id, exports_in, exports_out, cancel);
      result.st = o.st;
      sink_.step_finished(ref, result);
    }
    if (!chosen && o.st == status::succeeded)
      sink_.log(chain_ref, "no condition was true: nothing ran\n");
    return o;
  }

  /// The steps of the branch a chain took, in order, like the plan's: the first that does not
  /// succeed ends it. Each sees the exports of the steps before it.
  step_outcome run_branch(const work::branch_plan& branch, const std::string& id,
                          const env_map& exports_in, env_map& exports_out,
                          const process::cancel_source* cancel) {
    step_outcome o;
    env_map scope = exports_in;
    for (std::size_t j = 0; j < branch.steps.size(); ++j) {
      if (cancel_.cancelled() || (cancel != nullptr && cancel->cancelled())) {
        o.st = status::cancelled;
        break;
      }
      if (job_timed_out()) {
        job_timed_out_ = true;
        o.st = status::failed;
        o.failure = "job timed out";
        break;
      }
      env_map made;
      o = run_step(branch.steps[j], id + "." + std::to_string(j), id, scope, made, cancel);
      for (const auto& [k, v] : made) scope[k] = exports_out[k] = v;
      if (o.st != status::succeeded) break;
    }
    return o;
  }

  step_outcome run_parallel(const work::step_plan& group, const std::string& id,
                            const env_map& exports_in, env_map& exports_out,
                            const process::cancel_source* outer) {
    // Children get their own cancel source: fail_fast and the build's cancel both trip it.
    process::cancel_source group_cancel;
    std::atomic<bool> done{false};
    std::thread forward([&] {
      while (!done) {
        if (outer != nullptr) {
          pollfd p{outer->wait_fd(), POLLIN, 0};
          if (poll(&p, 1, 50) > 0) {
            group_cancel.cancel();
            return;
          }
        } else {
          std::this_thread::sleep_for(std::chrono::milliseconds(50));
        }
      }
    });
    std::mutex mu;
    std::vector<step_outcome> outcomes(group.children.size());
    std::vector<env_map> child_exports(group.children.size());
    std::size_t next = 0;
    auto worker = [&] {
      while (true) {
        std::size_t i;
        {
          std::lock_guard<std::mutex> lock(mu);
          if (next >= group.children.size()) return;
          i = next++;
        }
        if (group_cancel.cancelled()) {
          outcomes[i].st = status::cancelled;
          continue;
        }
        outcomes[i] = run_step(group.children[i], id + "." + std::to_string(i), id, exports_in,
                               child_exports[i], &group_cancel);
        if (outcomes[i].st != status::succeeded && group.fail_fast) group_cancel.cancel();
      }
    };
    std::size_t threads =
        group.limit > 0 ? static_cast<std::size_t>(group.limit) : group.children.size();
    threads = std::min(threads, group.children.size());
    std::vector<std::thread> pool;
    for (std::size_t t = 0; t < threads; ++t) pool.emplace_back(worker);
    for (auto& t : pool) t.join();
    done = true;
    forward.join();

    step_outcome o;
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      for (const auto& [k, v] : child_exports[i]) exports_out[k] = v;
      if (o.st == status::succeeded && outcomes[i].st != status::succeeded) o = outcomes[i];
    }
    // A child stopped by fail_fast reports cancelled; the group failed because of the first one.
    if (o.st == status::cancelled && !cancel_.cancelled())
      for (const auto& c : outcomes)
        if (c.st == status::failed) o = c;
    return o;
  }

  /// Runs the hooks that apply to `st`, then every `ensure`, in file order. Hooks never change
  /// the status they run for; a failing hook only fails its own record.
  void run_hooks(const std::vector<work::hook_plan>& hooks, status st, const std::string& owner,
                 const env_map& exports, bool job_level) {
    auto run_one = [&](const work::hook_plan& h, std::size_t i) {
      step_ref ref{owner + ":h" + std::to_string(i), "hook", h.name, "", job_level};
      sink_.step_started(ref);
      step_result result;
      std::optional<clock::time_point> none;
      auto finish = [&](const process::outcome& po) {
        if (po.succeeded()) return true;
        result.st = po.cancelled ? status::cancelled : status::failed;
        sink_.log(ref, "\n" + po.failure_text());
        return false;
      };
      if (h.command) {
        finish(run_command(*h.command, exports, {}, ref, none, nullptr, nullptr));
      } else {
        for (const auto& s : h.steps) {
          if (!s.command) continue;
          if (!finish(run_command(*s.command, exports, {}, ref, none, nullptr, nullptr))) break;
        }
      }
      sink_.step_finished(ref, result);
    };
    for (std::size_t i = 0; i < hooks.size(); ++i)
      if (hook_applies(hooks[i].kind, st)) run_one(hooks[i], i);
    for (std::size_t i = 0; i < hooks.size(); ++i)
      if (hooks[i].kind == work::hook_kind::ensure) run_one(hooks[i], i);
  }

  const work::build_plan& plan_;
  executor_options opts_;  // a copy: its scope is this build's
  build_sink& sink_;
  const build_cancel& cancel_;
  fs::path workdir_;
  std::unique_ptr<process::scope> scope_;
  std::optional<clock::time_point> job_deadline_;
  std::atomic<bool> job_timed_out_{false};
};

}  // namespace

build_result execute_build(const work::build_plan& plan, const executor_options& opts,
                           build_sink& sink, const build_cancel& cancel) {
  secret_resolver secrets(opts.resolve_secrets ? plan.secrets : work::secret_plan{},
                          secret_runner(opts, &cancel.source()), opts.secret_store);
  masking_sink masked(sink, secrets);
  executor_options with_secrets = opts;
  with_secrets.secrets = &secrets;
  build_result result = build_run(plan, with_secrets, masked, cancel).run();
  result.reason = secrets.masker()->mask(result.reason);
  return result;
}

check_result execute_check(const work::command_spec& cmd, const work::secret_plan& plan,
                           const executor_options& base_opts, std::chrono::milliseconds timeout,
                           const process::cancel_source* cancel) {
  secret_resolver secrets(base_opts.resolve_secrets ? plan : work::secret_plan{},
                          secret_runner(base_opts, cancel), base_opts.secret_store);
  executor_options opts = base_opts;  // with the check's own scope and secrets
  opts.secrets = &secrets;
  check_result result;
  fs::path workdir = opts.work_root / ("check-" + random_suffix());
  std::error_code ec;
  fs::create_directories(workdir, ec);
  if (ec) {
    result.error = "cannot create work directory " + workdir.string() + ": " + ec.message();
    return result;
  }
  auto scope = std::make_unique<process::scope>(workdir.filename().string());  // "check-..."
  opts.scope = scope.get();
  model::capped_log log;  // its last line is what counts; a huge output keeps its tail
  process::outcome po =
      run_command_spec(cmd, opts, workdir, {}, std::chrono::steady_clock::now() + timeout, cancel,
                       [&](std::string_view chunk) { log.append(chunk); });
  scope.reset();  // nothing the check started outlives it
  auto masker = secrets.masker();
  result.log = masker->mask(log.str());
  fs::remove_all(workdir, ec);
  if (!po.succeeded()) {
    result.error = masker->mask(po.timed_out ? "check timed out after " + go_duration(timeout)
                                             : po.failure_text());
    if (!po.cancelled) result.log += "\n" + *result.error;
    return result;
  }
  work::check_output out = work::parse_check_output(log.str());
  for (auto& v : out.versions) result.versions.push_back(masker->mask_json(v));
  if (out.error) result.error = masker->mask(*out.error);
  return result;
}

}  // namespace pikoci::worker
