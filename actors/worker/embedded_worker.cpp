#include "actors/worker/embedded_worker.hpp"

#include <atomic>
#include <deque>
#include <mutex>
#include <set>

#include <spdlog/spdlog.h>

extern char** environ;

namespace pikoci::worker {
namespace {

/// One running build as the worker sees it; shared with its runner thread.
struct run_control {
  build_cancel cancel;
  std::mutex mu;
  std::string reason;  // why it was cancelled, when it was

  void request_cancel(const std::string& why) {
    {
      std::lock_guard<std::mutex> lock(mu);
      if (reason.empty()) reason = why;
    }
    cancel.cancel();
  }
  std::string cancel_reason() {
    std::lock_guard<std::mutex> lock(mu);
    return reason;
  }
};

/// Forwards executor events to the build's owner as messages (thread-safe: called from the
/// runner thread and from in_parallel children).
class event_sink final : public build_sink {
 public:
  event_sink(proto::build_events_actor owner, proto::build_key key,
             std::shared_ptr<run_control> control)
      : owner_(std::move(owner)), key_(key), control_(std::move(control)) {}
  /// Log bytes a build may have on their way to its owner before its output is read again.
  static constexpr std::size_t flush_every = 1 << 20;
  void step_started(const step_ref& s) override {
    caf::anon_send(owner_, proto::step_start_atom::value, key_, s);
  }
  void log(const step_ref& s, std::string_view chunk) override {
    caf::anon_send(owner_, proto::step_log_atom::value, key_, s, std::string(chunk));
    // Back-pressure: after every `flush_every` bytes, this reading thread waits until the owner
    // has handled what was sent (its mailbox is FIFO). Meanwhile nobody reads the step's pipe,
    // so a task printing faster than the node can take blocks in write(2) instead of the node
    // holding its output in memory. Bounded wait: a stuck owner costs time, never memory growth
    // beyond one more round.
    if (unflushed_.fetch_add(chunk.size()) + chunk.size() < flush_every) return;
    unflushed_ = 0;
    if (auto* sys = system()) {
      caf::scoped_actor self{*sys};
      self->request(owner_, std::chrono::seconds(60), proto::flush_atom::value, key_)
          .receive([](bool) {}, [](caf::error&) {});
    }
  }
  void step_finished(const step_ref& s, const step_result& r) override {
    caf::anon_send(owner_, proto::step_done_atom::value, key_, s, r);
  }
  void build_decided(const build_result& r) override {
    caf::anon_send(owner_, proto::decided_atom::value, key_, with_cancel_reason(r));
  }
  /// A cancelled build says why it was cancelled (user, job removed, server stopping).
  build_result with_cancel_reason(build_result r) const {
    if (r.st == status::cancelled) {
      auto why = control_->cancel_reason();
      if (!why.empty()) r.reason = why;
    }
    return r;
  }

 private:
  caf::actor_system* system() const {
    auto* a = caf::actor_cast<caf::abstract_actor*>(owner_);
    return a != nullptr ? &a->home_system() : nullptr;
  }

  proto::build_events_actor owner_;
  proto::build_key key_;
  std::shared_ptr<run_control> control_;
  std::atomic<std::size_t> unflushed_{0};
};

/// The build runner: runs one build to its end on its own thread.
void build_runner(caf::blocking_actor* self, proto::build_work work,
                  std::shared_ptr<run_control> control, executor_options opts,
                  std::string worker_name, proto::embedded_worker_actor worker) {
  self->send(work.owner, proto::accepted_atom::value, work.key, worker_name);
  event_sink sink(work.owner, work.key, control);
  build_result result;
  try {
    result = execute_build(*work.plan, opts, sink, control->cancel);
  } catch (const std::exception& e) {
    result = {status::errored, std::string("worker error: ") + e.what()};
  }
  self->send(work.owner, proto::build_done_atom::value, work.key, sink.with_cancel_reason(result));
  self->send(work.slots, proto::release_atom::value, work.key.id);
  self->send(worker, proto::build_done_atom::value, work.key);
}

void check_runner(caf::blocking_actor* self, proto::check_work work, executor_options opts,
                  proto::embedded_worker_actor worker) {
  check_result result;
  try {
    result = execute_check(work.command, work.secrets, opts, work.timeout);
  } catch (const std::exception& e) {
    result.error = std::string("worker error: ") + e.what();
  }
  self->send(work.owner, proto::check_done_atom::value, work.sequence, std::move(result));
  self->send(worker, proto::check_done_atom::value);
}

struct worker_state {
  worker_options opts;
  std::map<std::int64_t, std::shared_ptr<run_control>> running;
  int checks_running = 0;
  std::deque<proto::check_work> checks_waiting;
  bool stopping = false;
  int cancelled_on_stop = 0;
  std::optional<caf::typed_response_promise<int>> stopped;
};

using self_ptr = proto::embedded_worker_actor::stateful_pointer<worker_state>;

void start_checks(self_ptr self) {
  auto& st = self->state;
  while (!st.stopping && st.checks_running < st.opts.check_slots && !st.checks_waiting.empty()) {
    auto work = std::move(st.checks_waiting.front());
    st.checks_waiting.pop_front();
    ++st.checks_running;
    self->spawn(check_runner, std::move(work), st.opts.exec, self);
  }
}

void maybe_stopped(self_ptr self) {
  auto& st = self->state;
  if (st.stopped && st.running.empty()) {
    st.stopped->deliver(st.cancelled_on_stop);
    st.stopped.reset();
  }
}

proto::embedded_worker_actor::behavior_type worker_behavior(self_ptr self, worker_options opts) {
  self->state.opts = std::move(opts);
  return {
      [self](proto::run_build_atom, proto::build_work& work) {
        auto& st = self->state;
        if (st.stopping) {
          // Never started: it goes back to pending (and runs after a restart with a store),
          // never `errored` for a run that did not happen.
          build_result declined{status::errored, "worker stopping"};
          declined.declined = true;
          self->send(work.owner, proto::build_done_atom::value, work.key, declined);
          self->send(work.slots, proto::release_atom::value, work.key.id);
          return;
        }
        auto control = std::make_shared<run_control>();
        st.running[work.key.id] = control;
        spdlog::debug("event=build.dispatched build={} attempt={} worker={}", work.key.id,
                      work.key.attempt, st.opts.name);
        self->spawn(build_runner, std::move(work), control, st.opts.exec, st.opts.name, self);
      },
      [self](proto::run_check_atom, proto::check_work& work) {
        self->state.checks_waiting.push_back(std::move(work));
        start_checks(self);
      },
      [self](proto::cancel_atom, proto::build_key key, const std::string& reason) {
        auto it = self->state.running.find(key.id);
        if (it != self->state.running.end()) it->second->request_cancel(reason);
      },
      [self](proto::adopt_atom, proto::build_work& work, const std::string&) {
        // the embedded worker's builds go with the process: nothing to adopt after a restart
        self->send(work.owner, proto::build_done_atom::value, work.key,
                   build_result{status::errored, "orphaned: server stopped during build"});
        self->send(work.slots, proto::release_atom::value, work.key.id);
      },
      [](proto::recorded_atom, proto::build_key) {},
      [self](proto::workers_atom) {
        auto& st = self->state;
        nlohmann::json w{
            {"name", st.opts.name},
            {"kind", "embedded"},
            {"tags", nlohmann::json::array()},
            {"queues", {"jobs", "checks"}},
            {"concurrency", st.opts.concurrency},
            {"running", st.running.size()},
            {"status", st.stopping ? "draining" : "healthy"},
            {"last_heartbeat_at", model::format_time(std::chrono::system_clock::now())}};
        return nlohmann::json{{"workers", {std::move(w)}}};
      },
      [self](proto::forget_atom, const std::string& name) {
        if (name == self->state.opts.name)
          return domain::fail(domain::errc::conflict,
                              "worker \"" + name + "\" is this node's own: it cannot be forgotten");
        return domain::fail(domain::errc::not_found, "worker \"" + name + "\" not found");
      },
      [self](proto::shutdown_atom) -> caf::result<int> {
        auto& st = self->state;
        st.stopping = true;
        st.checks_waiting.clear();
        for (auto& [id, control] : st.running) {
          control->request_cancel("cancelled: server stopping");
          ++st.cancelled_on_stop;
        }
        auto rp = self->make_response_promise<int>();
        st.stopped = rp;
        maybe_stopped(self);
        return rp;
      },
      [self](proto::build_done_atom, proto::build_key key) {
        self->state.running.erase(key.id);
        maybe_stopped(self);
      },
      [self](proto::check_done_atom) {
        --self->state.checks_running;
        start_checks(self);
      },
  };
}

}  // namespace

work::env_map process_environment() {
  // The node's own secrets never reach build processes (SPEC §10).
  static const std::set<std::string_view> secret = {
      "JWT_SECRET",      "ADMIN_PASSWORD",      "WORKER_TOKEN",     "PIKOCI_TOKEN",
      "JWT_SECRET_FILE", "ADMIN_PASSWORD_FILE", "WORKER_TOKEN_FILE"};
  work::env_map env;
  for (char** e = environ; e != nullptr && *e != nullptr; ++e) {
    std::string_view kv(*e);
    auto eq = kv.find('=');
    if (eq == std::string_view::npos || secret.count(kv.substr(0, eq)) != 0) continue;
    env.emplace(std::string(kv.substr(0, eq)), std::string(kv.substr(eq + 1)));
  }
  std::error_code ec;
  auto self = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) env["PIKOCI_NODE_BIN"] = self.string();
  return env;
}

std::filesystem::path cache_root_or_default(const std::string& flag) {
  if (!flag.empty()) return flag;
  const char* xdg = std::getenv("XDG_CACHE_HOME");
  if (xdg != nullptr && *xdg == '/') return std::filesystem::path(xdg) / "pikoci" / "cache";
  const char* home = std::getenv("HOME");
  if (home != nullptr && *home == '/')
    return std::filesystem::path(home) / ".cache" / "pikoci" / "cache";
  return std::filesystem::temp_directory_path() / "pikoci-cache";
}

proto::embedded_worker_actor spawn_embedded_worker(caf::actor_system& sys, worker_options opts) {
  return sys.spawn(worker_behavior, std::move(opts));
}

}  // namespace pikoci::worker
