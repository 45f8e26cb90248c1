#include "node/runtime.hpp"

#include <filesystem>
#include <future>

#include <spdlog/spdlog.h>
#include <unistd.h>
#include <caf/all.hpp>

#include "actors/protocols/registry.hpp"
#include "actors/server/execution_queue.hpp"
#include "actors/server/outbox.hpp"
#include "actors/server/registry.hpp"
#include "actors/server/store_writer.hpp"
#include "actors/worker/embedded_worker.hpp"
#include "node/secret_access.hpp"
#include "persistence/snapshot.hpp"


namespace pikoci::node {
namespace {

caf::actor_system_config& configure(caf::actor_system_config& cfg) {
  // Two cores: more scheduler threads than cores only add wake-ups (STACK.md).
  cfg.set("scheduler.max-threads", 2);
  cfg.set("scheduler.policy", caf::atom("sharing"));
  cfg.set("logger.verbosity", caf::atom("quiet"));
  return cfg;
}

}  // namespace

worker::executor_options worker_exec(const runtime_options& opts) {
  worker::executor_options e;
  e.work_root =
      std::filesystem::temp_directory_path() / ("pikoci-node-" + std::to_string(::getpid()));
  e.worker_env = worker::process_environment();
  e.cache_root = worker::cache_root_or_default(opts.cache_root);
  e.grace = opts.grace;
  e.node_handlers = opts.node_handlers;
  return e;
}

struct runtime::impl {
  caf::actor_system_config cfg;
  caf::actor_system sys;
  caf::actor worker;  // the embedded worker or the Kafka dispatcher
  proto::execution_queue_actor queue;
  proto::registry_actor registry;
  proto::store_writer_actor store;
  proto::outbox_actor outbox;
  caf::actor bridge;
  proto::gateway gate;
  std::chrono::milliseconds grace;

  explicit impl(const runtime_options& opts) : sys(configure(cfg)), grace(opts.grace) {
    // Pipelines, jobs and checkers live as long as the node; stop_builds() has already ended
    // every build when the system goes down, so nothing is left to wait for.
    sys.await_actors_before_shutdown(false);
    proto::dispatcher_actor dispatcher;
    auto pool = proto::embedded_pool(opts.concurrency);
    if (opts.kafka) {
      auto remote = kafka::spawn_kafka_dispatcher(sys, *opts.kafka);
      dispatcher = caf::actor_cast<proto::dispatcher_actor>(remote);
      worker = caf::actor_cast<caf::actor>(remote);
      pool.clear();  // until workers announce themselves
    } else {
      worker::worker_options w;
      w.concurrency = opts.concurrency;
      w.exec = worker_exec(opts);
      w.exec.resolve_secrets = !opts.local_run;
      // builds read the internal store through the gateway (set below, before any build runs)
      w.exec.secret_store = [this](const std::string& p, const std::string& n) {
        return gateway_secret_store(gate)(p, n);
      };
      auto embedded = worker::spawn_embedded_worker(sys, w);
      dispatcher = caf::actor_cast<proto::dispatcher_actor>(embedded);
      worker = caf::actor_cast<caf::actor>(embedded);
    }
    auto db = opts.store ? opts.store : persistence::open_memory_store();
    persistence::decode_stored_names(*db);
    auto stored = persistence::load_pipelines(*db);
    queue = server::spawn_execution_queue(
        sys, {opts.max_in_flight, opts.max_queue_size, pool, !stored.empty()}, dispatcher);
    if (opts.kafka)
      caf::anon_send(caf::actor_cast<kafka::kafka_dispatcher_actor>(worker),
                     proto::slots_atom::value, caf::actor_cast<proto::slot_listener_actor>(queue));
    store = server::spawn_store_writer(sys, db);
    server::context ctx;
    ctx.queue = queue;
    ctx.dispatcher = dispatcher;
    ctx.remote_workers = opts.kafka.has_value();
    ctx.store = store;
    ctx.db = db;
    ctx.secret_box = opts.secret_box;
    ctx.users = opts.users;
    ctx.local_run = opts.local_run;
    ctx.max_builds_per_job = static_cast<std::size_t>(opts.max_builds_per_job);
    ctx.load_limits = opts.pipeline_limits;
    ctx.artifacts = opts.artifacts;
    ctx.outbox_figures = std::make_shared<proto::outbox_figures>();
    outbox = server::spawn_outbox(sys, opts.notify, store, server::load_outbox(*db),
                                  ctx.outbox_figures);
    ctx.outbox = outbox;
    registry = server::spawn_registry(sys, ctx);
    bridge = sys.spawn(proto::bridge);
    gate = proto::gateway(bridge, registry);
    if (!stored.empty()) restore(std::move(stored));
  }

  /// Start-up from the store: pipelines, jobs and builds back, then the queue dispatches again.
  void restore(std::vector<persistence::stored_pipeline> stored) {
    auto t0 = std::chrono::steady_clock::now();
    auto n = stored.size();
    caf::scoped_actor self{sys};
    int restored = 0;
    self->request(registry, caf::infinite, proto::restore_atom::value, std::move(stored))
        .receive([&](int count) { restored = count; }, [&](caf::error&) {});
    caf::anon_send(queue, proto::restore_atom::value);
    spdlog::info(
        "event=store.restored pipelines={} of={} ms={}", restored, n,
        std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0)
            .count());
  }
};

runtime::runtime(const runtime_options& opts) : impl_(std::make_unique<impl>(opts)) {}

runtime::~runtime() {
  // what was handed to the store writer so far is written before it goes
  write({});
  for (const caf::actor_addr& a :
       {impl_->bridge.address(), impl_->registry.address(), impl_->queue.address(),
        impl_->worker.address(), impl_->outbox.address(), impl_->store.address()})
    caf::anon_send_exit(a, caf::exit_reason::user_shutdown);
}

bool runtime::write(persistence::batch ops) {
  caf::scoped_actor self{impl_->sys};
  bool stored = false;
  self->request(impl_->store, std::chrono::seconds(10), proto::write_atom::value, std::move(ops))
      .receive([&](bool ok) { stored = ok; }, [](caf::error&) {});
  return stored;
}

caf::actor_system& runtime::system() {
  return impl_->sys;
}

const proto::gateway& runtime::gateway() const {
  return impl_->gate;
}

std::future<bool> runtime::start_drain(std::chrono::milliseconds timeout) {
  auto done = std::make_shared<std::promise<bool>>();
  auto answer = done->get_future();
  impl_->sys.spawn([queue = impl_->queue, timeout, done](caf::event_based_actor* self) {
    self->request(queue, timeout, proto::drain_atom::value)
        .then([done](bool) { done->set_value(true); },
              [done](caf::error&) { done->set_value(false); });
  });
  return answer;
}

int runtime::stop_builds() {
  caf::scoped_actor self{impl_->sys};
  // first the queue, so that no build is handed to the worker side while it stops (such a
  // build would end `errored` without having run)
  self->request(impl_->queue, std::chrono::seconds(5), proto::shutdown_atom::value)
      .receive([](int) {},  // the queue logs event=queue.stopping
               [&](caf::error& e) {
                 spdlog::warn("event=queue.stop_failed error=\"{}\"", caf::to_string(e));
               });
  int cancelled = 0;
  self->request(impl_->registry, impl_->grace + std::chrono::seconds(5),
                proto::shutdown_atom::value)
      .receive([&](int n) { cancelled = n; }, [&](caf::error&) { cancelled = -1; });
  return cancelled;
}

}  // namespace pikoci::node
