// Benchmarks of the execution queue (SPEC §11), in-process:
//   - admissions per second: N builds enqueued (pipelined requests) into a queue with 1 slot;
//   - memory per queued build, the queue's record alone: resident memory growth over N pending
//     builds in the queue actor;
//   - memory per queued build, whole node: resident memory growth over N pending builds created
//     by manual triggers through the runtime (registry → pipeline → job → queue): the build
//     record, the pipeline's usage entry and the queue's record (plans are made at dispatch);
//   - slot freed → next build dispatched: release of the running build until the dispatcher
//     receives the next one (the owner makes its plan on the grant, as a job does), M rounds.
// Prints JSON lines in bench/run's format.
//
//   bench-queue [--builds N] [--rounds M]

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <functional>
#include <future>
#include <mutex>
#include <thread>
#include <vector>

#include <caf/all.hpp>

#include "actors/server/execution_queue.hpp"
#include "bench/report.hpp"
#include "node/runtime.hpp"

using namespace pikoci;
using clock_type = std::chrono::steady_clock;

namespace {

struct dispatched_log {
  std::mutex mu;
  std::vector<std::pair<std::int64_t, clock_type::time_point>> builds;
  std::size_t size() {
    std::lock_guard<std::mutex> l(mu);
    return builds.size();
  }
};

proto::dispatcher_actor::behavior_type recording_worker(proto::dispatcher_actor::pointer,
                                                        std::shared_ptr<dispatched_log> log) {
  return {
      [log](proto::run_build_atom, proto::build_work& w) {
        auto now = clock_type::now();
        std::lock_guard<std::mutex> l(log->mu);
        log->builds.emplace_back(w.key.id, now);
      },
      [](proto::run_check_atom, proto::check_work&) {},
      [](proto::cancel_atom, proto::build_key, const std::string&) {},
      [](proto::adopt_atom, proto::build_work&, const std::string&) {},
      [](proto::recorded_atom, proto::build_key) {},
      [](proto::workers_atom) { return nlohmann::json::object(); },
      [](proto::forget_atom, const std::string&) { return domain::nothing(); },
      [](proto::shutdown_atom) { return 0; },
  };
}

long rss_bytes() {
  std::ifstream statm("/proc/self/statm");
  long pages = 0, resident = 0;
  statm >> pages >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

proto::plan_ptr one_task_plan(std::int64_t id) {
  auto p = std::make_shared<work::build_plan>();
  p->build_id = id;
  p->pipeline = "bench";
  p->job = "job";
  p->number = std::to_string(id);
  p->env = {
      {"BUILD_NUMBER", p->number}, {"BUILD_JOB_NAME", "job"}, {"BUILD_PIPELINE_NAME", "bench"}};
  work::step_plan t;
  t.kind = work::step_kind::task;
  t.name = "test";
  t.command = work::command_spec{
      {"$shell", {"-ec", "$cmd"}}, {{"shell", "/bin/sh"}, {"cmd", "make test"}}, {}, ""};
  p->steps.push_back(std::move(t));
  return p;
}

/// Stands in for a job: on the grant it makes a one-task plan and hands it to the worker.
proto::build_owner_actor::behavior_type planning_owner(proto::build_owner_actor::pointer self,
                                                       proto::dispatcher_actor worker) {
  return {
      [=](proto::grant_atom, proto::build_key key, proto::slot_owner_actor& slots) {
        self->send(worker, proto::run_build_atom::value,
                   proto::build_work{key,
                                     one_task_plan(key.id),
                                     {},
                                     caf::actor_cast<proto::build_events_actor>(self),
                                     std::move(slots)});
      },
      [](proto::accepted_atom, proto::build_key, const std::string&) {},
      [](proto::step_start_atom, proto::build_key, const work::step_ref&) {},
      [](proto::step_log_atom, proto::build_key, const work::step_ref&, const std::string&) {},
      [](proto::flush_atom, proto::build_key) { return true; },
      [](proto::step_done_atom, proto::build_key, const work::step_ref&, const work::step_result&) {
      },
      [](proto::decided_atom, proto::build_key, const work::build_result&) {},
      [](proto::build_done_atom, proto::build_key, const work::build_result&) {},
      [](proto::supersede_atom, proto::build_key, const std::string&) {},
      [](proto::redispatch_atom, proto::build_key, const std::string&) {},
  };
}

struct fixture {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;
  std::shared_ptr<dispatched_log> log = std::make_shared<dispatched_log>();
  proto::execution_queue_actor queue;
  proto::build_owner_actor owner;
  fixture() {
    cfg.set("scheduler.max-threads", 2);
    cfg.set("scheduler.policy", caf::atom("sharing"));
    cfg.set("logger.verbosity", caf::atom("quiet"));
    sys = std::make_unique<caf::actor_system>(cfg);
    sys->await_actors_before_shutdown(false);
    auto worker = sys->spawn(recording_worker, log);
    queue = server::spawn_execution_queue(*sys, {1, 10000000, proto::embedded_pool(1)}, worker);
    owner = sys->spawn(planning_owner, worker);
  }
  /// Enqueues ids [from, to) from one actor with at most 256 requests in flight (like many jobs
  /// with a few each: CAF 0.17 looks responses up linearly among an actor's open requests, so one
  /// actor with 100k open requests measures CAF, not the queue). Returns how many were accepted.
  std::size_t enqueue(std::int64_t from, std::int64_t to) {
    auto done = std::make_shared<std::promise<std::size_t>>();
    auto answer = done->get_future();
    sys->spawn([=, q = queue, o = owner](caf::event_based_actor* self) {
      struct progress {
        std::int64_t next, left;
        std::size_t accepted = 0;
      };
      auto st = std::make_shared<progress>(progress{from, to - from, 0});
      auto send_next = std::make_shared<std::function<void()>>();
      *send_next = [=] {
        if (st->next >= to) return;
        auto id = st->next++;
        proto::queued_build b{
            {id, 1}, "bench", "job", std::to_string(id), std::chrono::system_clock::now(), o, {}};
        self->request(q, caf::infinite, proto::enqueue_atom::value, std::move(b))
            .then([=](proto::admission& a) {
              st->accepted += a.result == proto::admission::outcome::accepted;
              if (--st->left == 0) {
                done->set_value(st->accepted);
                *send_next = nullptr;  // break the cycle
                return;
              }
              (*send_next)();
            });
      };
      for (int i = 0; i < 256; ++i) (*send_next)();
    });
    return answer.get();
  }
};

void print(const char* scenario, const char* unit, int runs, std::vector<double> v, double target) {
  pikoci::bench::report({scenario, scenario, unit, target}, std::move(v), true,
                        static_cast<std::size_t>(runs));
}

}  // namespace

int main(int argc, char** argv) {
  std::int64_t builds = 100000;
  int rounds = 10000;
  for (int i = 1; i + 1 < argc; i += 2) {
    if (!std::strcmp(argv[i], "--builds")) builds = std::atoll(argv[i + 1]);
    if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoi(argv[i + 1]);
  }
  // the queue's record alone (on a fresh heap), and admissions per second
  {
    fixture f;
    auto before = rss_bytes();
    auto t0 = clock_type::now();
    auto accepted = f.enqueue(1, builds + 1);
    double secs = std::chrono::duration<double>(clock_type::now() - t0).count();
    auto after = rss_bytes();
    // one is dispatched at once, the rest wait
    if (accepted != static_cast<std::size_t>(builds)) {
      std::fprintf(stderr, "only %zu of %lld admitted\n", accepted, static_cast<long long>(builds));
      return 1;
    }
    print("queue_admissions_per_second", "1/s", 1, {builds / secs}, 5000);
    print("memory_per_queued_build_record", "bytes", 1,
          {static_cast<double>(after - before) / builds}, 1024);
  }
  // the whole node: N manual triggers wait behind one running build
  {
    node::runtime_options o;
    o.concurrency = 1;
    o.max_in_flight = 1;
    o.max_queue_size = static_cast<int>(builds) + 1;
    o.grace = std::chrono::milliseconds(100);
    node::runtime rt(o);
    auto set = rt.gateway().call_and_wait(proto::set_pipeline{
        "bench",
        "job \"job\" {\n  input \"env\" {\n    type = string\n    default = \"dev\"\n  }\n"
        "  task \"t\" {\n    run \"exec\" {\n      path = \"/bin/sleep\"\n      args = [\"600\"]\n"
        "    }\n  }\n}\n",
        nlohmann::json::object()});
    if (set.failed()) {
      std::fprintf(stderr, "set pipeline: %s\n", set.failure->message.c_str());
      return 1;
    }
    auto trigger = [&] {
      return rt.gateway().call_and_wait(proto::trigger_job{"bench", "job", {{"env", "prod"}}, {}});
    };
    trigger();  // the running one
    auto before = rss_bytes();
    for (std::int64_t i = 0; i < builds; ++i) {
      auto r = trigger();
      if (r.failed() || r.what != domain::reply::outcome::created) {
        std::fprintf(stderr, "trigger %lld: %s\n", static_cast<long long>(i),
                     r.failed() ? r.failure->message.c_str() : r.value.dump().c_str());
        return 1;
      }
    }
    auto after = rss_bytes();
    print("memory_per_queued_build_node", "bytes", 1,
          {static_cast<double>(after - before) / builds}, 1024);
    rt.stop_builds();
  }
  // slot freed → next dispatched
  {
    fixture f;
    f.enqueue(1, rounds + 2);
    // the first build's grant, plan and dispatch may still be on their way
    while (f.log->size() == 0) std::this_thread::yield();
    std::vector<double> us;
    for (int r = 0; r < rounds; ++r) {
      auto seen = f.log->size();
      std::int64_t running;
      {
        std::lock_guard<std::mutex> l(f.log->mu);
        running = f.log->builds.back().first;
      }
      auto t0 = clock_type::now();
      caf::anon_send(f.queue, proto::release_atom::value, running);
      while (f.log->size() == seen) std::this_thread::yield();
      clock_type::time_point t1;
      {
        std::lock_guard<std::mutex> l(f.log->mu);
        t1 = f.log->builds.back().second;
      }
      us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count() / 1000.0);
    }
    print("slot_freed_to_next_dispatch", "ms", rounds, us, 1);
  }
  return 0;
}
