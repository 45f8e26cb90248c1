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
#include "config/pipeline/json_decode.hpp"
#include "persistence/partitioning.hpp"
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
  server::cluster_writer_actor cluster_writer;  // cluster mode: `store` is this one
  std::shared_ptr<persistence::store> db;
  std::shared_ptr<kafka::hop_meter> hops;
  int partitions = 0;  // cluster mode: P
  server::trigger_hub_ptr triggers;
  proto::event_hub_ptr events;
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
    db = opts.store ? opts.store : persistence::open_memory_store();
    if (opts.kafka) hops = opts.kafka->hops;
    persistence::decode_stored_names(*db);
    // a cluster node restores a partition's pipelines when it gains the partition (`gain`)
    auto stored = opts.cluster ? std::vector<persistence::stored_pipeline>{}
                               : persistence::load_pipelines(*db);
    server::queue_limits limits{opts.max_in_flight, opts.max_queue_size, pool, !stored.empty()};
    limits.cluster = opts.cluster.has_value();
    queue = server::spawn_execution_queue(sys, limits, dispatcher);
    if (opts.kafka)
      caf::anon_send(caf::actor_cast<kafka::kafka_dispatcher_actor>(worker),
                     proto::slots_atom::value, caf::actor_cast<proto::slot_listener_actor>(queue));
    if (opts.cluster) {
      partitions = opts.cluster->partitions;
      server::cluster_writer_options w;
      w.store = db;
      w.sink = opts.cluster->sink;
      w.partitions = opts.cluster->table;
      w.partition_count = partitions;
      w.on_fenced = opts.cluster->on_fenced;
      cluster_writer = server::spawn_cluster_writer(sys, w);
      store = caf::actor_cast<proto::store_writer_actor>(cluster_writer);
    } else {
      store = server::spawn_store_writer(sys, db);
    }
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
    auto notify = opts.notify;
    if (opts.cluster) {
      ctx.partition_count = partitions;
      ctx.partitions = opts.cluster->table;
      ctx.catalog = opts.cluster->catalog;
      ctx.move_wait = opts.cluster->move_wait;
      for (int k = 0; k < partitions; ++k) {
        ctx.partition_build_ids.push_back(std::make_shared<model::id_source>(k));
        ctx.partition_version_ids.push_back(std::make_shared<model::id_source>(k));
      }
      notify.partitions = partitions;  // each partition's messages come with it (`gain`)
      // a put to a trigger resource reaches the pipelines of every partition, wherever they are
      ctx.triggers->set_relay([send = opts.cluster->broadcast_trigger](
                                  const std::string& from, const std::string& canonical,
                                  const std::vector<nlohmann::json>& events) {
        if (send)
          send(nlohmann::json{{"from", from}, {"canonical", canonical}, {"events", events}}
                   .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
      });
    }
    outbox = server::spawn_outbox(
        sys, notify, store,
        opts.cluster ? std::vector<model::notification_message>{} : server::load_outbox(*db),
        ctx.outbox_figures);
    ctx.outbox = outbox;
    triggers = ctx.triggers;
    events = ctx.events;
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

int runtime::gain(int k) {
  auto& im = *impl_;
  const int parts = im.partitions;
  auto stored = persistence::load_pipelines(
      *im.db, [k, parts](std::string_view p) { return persistence::partition_of(p, parts) == k; });
  std::vector<model::notification_message> messages;
  for (auto& m : server::load_outbox(*im.db))
    if (persistence::partition_of(m.pipeline, parts) == k) messages.push_back(std::move(m));
  caf::scoped_actor self{im.sys};
  int restored = 0;
  self->request(im.registry, caf::infinite, proto::gain_atom::value, std::move(stored))
      .receive([&](int n) { restored = n; }, [](caf::error&) {});
  caf::anon_send(im.outbox, proto::gain_atom::value, k, std::move(messages));
  return restored;
}

bool runtime::hand_off(int k, std::chrono::milliseconds timeout) {
  auto& im = *impl_;
  caf::scoped_actor self{im.sys};
  int moved = 0;
  self->request(im.registry, timeout, proto::handoff_atom::value, k)
      .receive([&](int n) { moved = n; },
               [&](caf::error& e) {
                 spdlog::warn("event=cluster.handoff_slow partition={} error=\"{}\"", k,
                              caf::to_string(e));
               });
  caf::anon_send(im.outbox, proto::drop_atom::value, k);
  bool drained = false;
  self->request(im.cluster_writer, timeout, proto::drain_atom::value, k)
      .receive([&](bool ok) { drained = ok; }, [](caf::error&) {});
  spdlog::info("event=cluster.handed_off partition={} pipelines={} drained={}", k, moved, drained);
  return drained;
}

void runtime::feed_input(const std::string& topic, const std::string& payload) {
  auto& im = *impl_;
  if (!im.hops) return;
  kafka::feed_input(caf::actor_cast<kafka::kafka_dispatcher_actor>(im.worker), *im.hops, topic,
                    payload);
}

void runtime::deliver_trigger(int k, const std::string& payload) {
  auto& im = *impl_;
  auto decoded = pipeline::decode_json(payload);
  const auto& j = decoded.value;
  if (!decoded.error.empty() || !j.is_object() || !j.value("from", nlohmann::json()).is_string() ||
      !j.value("canonical", nlohmann::json()).is_string() ||
      !j.value("events", nlohmann::json()).is_array()) {
    spdlog::warn("event=cluster.trigger_refused partition={} error=\"{}\"", k,
                 decoded.error.empty() ? "not a trigger record" : decoded.error);
    return;
  }
  std::vector<nlohmann::json> events(j["events"].begin(), j["events"].end());
  const int parts = im.partitions;
  im.triggers->deliver(j["from"].get<std::string>(), j["canonical"].get<std::string>(), events,
                       [k, parts](const std::string& p) {
                         return persistence::partition_of(p, parts) == k;
                       });
}

void runtime::replicate(const std::string& key, const std::optional<std::string>& value) {
  caf::anon_send(impl_->registry, proto::replicated_atom::value, key, value);
}

proto::event_hub_ptr runtime::events() const {
  return impl_->events;
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
