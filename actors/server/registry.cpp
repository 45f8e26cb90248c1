#include "actors/server/registry.hpp"

#include <unistd.h>
#include <algorithm>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <set>
#include <sstream>

#include <stdlib.h>

#include <spdlog/spdlog.h>

#include "actors/server/gather.hpp"
#include "actors/server/guard.hpp"
#include "actors/server/outbox.hpp"
#include "actors/server/persist.hpp"
#include "actors/server/pipeline.hpp"
#include "actors/server/replicated.hpp"
#include "actors/server/secret_store.hpp"
#include "config/pipeline/load.hpp"
#include "connectors/http_client/source_fetch.hpp"
#include "persistence/archive.hpp"
#include "persistence/keys.hpp"
#include "persistence/partitioning.hpp"
#include "persistence/records.hpp"
#include "persistence/snapshot.hpp"

namespace pikoci::server {
namespace {

using nlohmann::json;

/// Cluster mode: an operation held until its partition becomes active here.
struct waiting_op {
  std::string pipeline;  // "": the users and team secrets (partition G)
  caf::actor_clock::time_point deadline;
  caf::typed_response_promise<domain::reply> rp;
  /// Sends the operation to the registry again and answers `rp` with its reply.
  std::function<void(caf::typed_response_promise<domain::reply>)> replay;
};

struct registry_state {
  context ctx;
  std::unique_ptr<secret_store> secrets;  // the internal secret store (sealed values)
  std::map<std::string, proto::pipeline_actor> pipelines;
  // supervision: a pipeline whose actors died is restored from the store (restart_pipeline)
  std::set<std::string> restarting;           // answered 503 `pipeline_restarting` meanwhile
  std::map<std::string, std::string> failed;  // restarted too often: why (a set replaces it)
  std::map<std::string, std::deque<std::chrono::steady_clock::time_point>> restarts;
  // requests a pipeline is handling, answered with a 500 if it dies before it does
  std::map<std::string, std::map<std::uint64_t, caf::typed_response_promise<domain::reply>>>
      in_flight;
  std::uint64_t next_request = 0;
  // PUTs are loaded on threads of their own and may finish in any order; they are applied in the
  // order they arrived. A DELETE voids the loads still running for its pipeline (409).
  std::uint64_t next_load = 0;
  struct loads {
    std::set<std::uint64_t> waiting;                      // arrival order of unfinished loads
    std::map<std::uint64_t, std::function<void()>> done;  // finished, waiting for their turn
  };
  std::map<std::string, loads> loading;
  std::map<std::uint64_t, domain::reply> voided;  // a load's answer when it ends (delete, handoff)
  // cluster mode: operations waiting for their partition, by partition, in arrival order
  std::map<int, std::deque<waiting_op>> waiting;
  std::size_t waiting_count = 0;
  std::map<int, std::size_t> replaying;  // held operations sent again, not handled yet
  bool ticking = false;                  // the re-check timer is set
  // cluster mode: handoffs waiting for what their pipelines already took to be answered
  struct pending_handoff {
    std::vector<std::string> names;
    caf::typed_response_promise<int> rp;
    caf::actor_clock::time_point deadline;
  };
  std::vector<pending_handoff> handoffs;
  std::size_t validating = 0;  // POST /validate loads running now (max_validations)
};

using self_ptr = proto::registry_actor::stateful_pointer<registry_state>;
using reply_fn = std::function<void(domain::reply)>;

std::vector<proto::pipeline_actor> all(self_ptr self) {
  std::vector<proto::pipeline_actor> out;
  for (const auto& [name, p] : self->state.pipelines) out.push_back(p);
  return out;
}

void try_hand_off(self_ptr self);

/// Sends `msg` to the pipeline `name` and answers `rp` with its reply, or with a 500 when the
/// pipeline dies first (its promise would otherwise never be kept).
template <class... Ts>
void ask_pipeline(self_ptr self, const std::string& name, const proto::pipeline_actor& actor,
                  caf::typed_response_promise<domain::reply> rp, Ts&&... msg) {
  auto id = ++self->state.next_request;
  self->state.in_flight[name].emplace(id, rp);
  auto take = [self, name, id]() -> std::optional<caf::typed_response_promise<domain::reply>> {
    auto& all = self->state.in_flight;
    auto p = all.find(name);
    if (p == all.end()) return std::nullopt;
    auto it = p->second.find(id);
    if (it == p->second.end()) return std::nullopt;
    auto found = it->second;
    p->second.erase(it);
    if (p->second.empty()) all.erase(p);
    return found;
  };
  self->request(actor, caf::infinite, std::forward<Ts>(msg)...)
      .then(
          [self, take](domain::reply& r) mutable {
            if (auto p = take()) p->deliver(std::move(r));
            if (!self->state.handoffs.empty()) try_hand_off(self);
          },
          [self, take](caf::error& e) mutable {
            if (auto p = take())
              p->deliver(domain::fail(domain::errc::internal, "pipeline: " + caf::to_string(e)));
            if (!self->state.handoffs.empty()) try_hand_off(self);
          });
}

/// The answer for a pipeline that is being restored after its actors failed.
domain::reply restarting(const std::string& name) {
  return domain::fail(domain::errc::pipeline_restarting,
                      "pipeline \"" + name + "\" is being restarted after an internal error");
}

// ---- cluster mode: which partitions are this node's (context::partitions)

using domain::cluster::partition_state;

/// Operations waiting for their partition on this node at most; more are answered 503 at once.
constexpr std::size_t max_waiting_ops = 10000;
/// How long a handoff waits for what its pipelines already took to be answered.
constexpr auto handoff_drain = std::chrono::seconds(5);
/// How often held operations look at their partition again (only while some wait).
constexpr auto recheck_every = std::chrono::milliseconds(25);

bool cluster(self_ptr self) {
  return self->state.ctx.partition_count > 0;
}

/// The partition of the pipeline `name`, or G (= P) for "" (users and team secrets).
int partition_of(self_ptr self, const std::string& name) {
  auto p = self->state.ctx.partition_count;
  return name.empty() ? p : persistence::partition_of(name, p);
}

partition_state state_of(self_ptr self, int k) {
  const auto& table = self->state.ctx.partitions;
  return table ? table->get(k) : partition_state::idle;
}

std::string whose(const std::string& pipeline) {
  return pipeline.empty() ? std::string("users and team secrets are")
                          : "pipeline \"" + pipeline + "\" is";
}

domain::reply not_owner(int k, const std::string& pipeline) {
  return domain::fail(domain::errc::not_owner, whose(pipeline) + " owned by another node",
                      {{"partition", k}});
}

domain::reply partition_moving(int k, const std::string& pipeline) {
  return domain::fail(domain::errc::partition_moving,
                      whose(pipeline) + " moving between nodes; try again in a moment",
                      {{"partition", k}});
}

/// Whether partition k is coming to this node or leaving it: operations on it wait.
bool in_move(partition_state s) {
  return s == partition_state::restoring || s == partition_state::adopting ||
         s == partition_state::moving;
}

/// The answer for an operation on partition k in state `s`, when it cannot run or wait.
domain::reply refused_in(partition_state s, int k, const std::string& pipeline) {
  return in_move(s) ? partition_moving(k, pipeline)
             : not_owner(k, pipeline);
}

/// Whether the message handled now is a held operation the registry sent itself again.
bool replayed(self_ptr self) {
  const auto& sender = self->current_sender();
  return sender && sender.get() == self->ctrl();
}

void start_ticking(self_ptr self) {
  if (self->state.ticking) return;
  self->state.ticking = true;
  self->delayed_send(self, recheck_every, proto::tick_atom::value);
}

/// Partition k is active: its held operations are sent again, in the order they arrived (the
/// mailbox keeps it; newer ones wait behind them, see `gate`).
void flush(self_ptr self, int k) {
  auto& st = self->state;
  auto w = st.waiting.find(k);
  if (w == st.waiting.end()) return;
  auto ops = std::move(w->second);
  st.waiting.erase(w);
  st.waiting_count -= ops.size();
  st.replaying[k] += ops.size();
  for (auto& op : ops) op.replay(op.rp);
}

/// The timer: held operations run (active), are refused (idle, lost, fenced) or, past their
/// wait, answered 503 `partition_moving` (restoring, moving). Set again while any wait.
void recheck(self_ptr self) {
  auto& st = self->state;
  st.ticking = false;
  auto now = self->clock().now();
  for (auto it = st.waiting.begin(); it != st.waiting.end();) {
    auto k = it->first;
    auto s = state_of(self, k);
    if (s == partition_state::active) {
      ++it;
      flush(self, k);
      continue;
    }
    auto& q = it->second;
    bool moving = in_move(s);
    for (auto op = q.begin(); op != q.end();) {
      if (moving && op->deadline > now) {
        ++op;
        continue;
      }
      op->rp.deliver(refused_in(s, k, op->pipeline));
      op = q.erase(op);
      --st.waiting_count;
    }
    it = q.empty() ? st.waiting.erase(it) : std::next(it);
  }
  if (!st.handoffs.empty()) try_hand_off(self);
  if (st.waiting_count > 0 || !st.handoffs.empty()) start_ticking(self);
}

/// Holds `op` on partition k until `recheck` decides.
template <class Op>
caf::result<domain::reply> hold(self_ptr self, int k, const std::string& pipeline, Op op) {
  auto& st = self->state;
  auto rp = self->make_response_promise<domain::reply>();
  auto replay = [self, op = std::move(op)](caf::typed_response_promise<domain::reply> rp) mutable {
    self->request(caf::actor_cast<proto::registry_actor>(self), caf::infinite, std::move(op))
        .then([rp](domain::reply& r) mutable { rp.deliver(std::move(r)); },
              [rp](caf::error& e) mutable {
                rp.deliver(domain::fail(domain::errc::internal, "registry: " + caf::to_string(e)));
              });
  };
  st.waiting[k].push_back(
      {pipeline, self->clock().now() + st.ctx.move_wait, rp, std::move(replay)});
  ++st.waiting_count;
  start_ticking(self);
  return rp;
}

/// Cluster mode: whether an operation on `pipeline` ("": users and team secrets) may run now.
/// None: it may (single mode, or its partition is active here and nothing older of it waits).
/// Else its answer: `not_owner` (not this node's), 503 `partition_moving` (too many wait), or a
/// promise kept once the partition is settled (it waits).
template <class Op>
std::optional<caf::result<domain::reply>> gate(self_ptr self, const std::string& pipeline,
                                               const Op& op) {
  if (!cluster(self)) return std::nullopt;
  auto& st = self->state;
  auto k = partition_of(self, pipeline);
  bool replay = replayed(self);
  if (replay)
    if (auto r = st.replaying.find(k); r != st.replaying.end() && --r->second == 0)
      st.replaying.erase(r);
  auto s = state_of(self, k);
  if (s == partition_state::active) {
    if (replay) {
      // the last of the replayed ones: what arrived meanwhile goes next (after this one)
      if (st.replaying.count(k) == 0) flush(self, k);
      return std::nullopt;
    }
    if (st.waiting.count(k) == 0 && st.replaying.count(k) == 0) return std::nullopt;
    // older operations of k are still to run: this one goes after them
  } else if (!in_move(s)) {
    return caf::result<domain::reply>(not_owner(k, pipeline));
  }
  if (st.waiting_count >= max_waiting_ops)
    return caf::result<domain::reply>(partition_moving(k, pipeline));
  auto held = hold(self, k, pipeline, op);
  if (s == partition_state::active && st.replaying.count(k) == 0) flush(self, k);
  return held;
}

/// A held or forwarded operation on one pipeline (or on G): `run` answers it once the gate lets
/// it through.
template <class Op, class F>
caf::result<domain::reply> owned(self_ptr self, const std::string& pipeline, const Op& op, F run) {
  if (auto g = gate(self, pipeline, op)) return std::move(*g);
  return run();
}

/// Answers the held operations on the pipelines `names` with `not_owner` (they were handed off).
void drop_waiting(self_ptr self, const std::set<std::string>& names) {
  auto& st = self->state;
  for (auto it = st.waiting.begin(); it != st.waiting.end();) {
    auto& q = it->second;
    for (auto op = q.begin(); op != q.end();) {
      if (op->pipeline.empty() || names.count(op->pipeline) == 0) {
        ++op;
        continue;
      }
      op->rp.deliver(not_owner(it->first, op->pipeline));
      op = q.erase(op);
      --st.waiting_count;
    }
    it = q.empty() ? st.waiting.erase(it) : std::next(it);
  }
}

/// Fetches as when the pipeline was set: each source's body as its record keeps it, the network
/// only for one the record lacks (written before bodies were kept). A restart or a restore never
/// depends on a URL still answering, nor takes a definition that changed behind it.
pipeline::fetch_fn as_when_set(const nlohmann::json& doc) {
  return [kept = persistence::pipeline_sources(doc)](const std::string& url) {
    if (auto it = kept.find(url); it != kept.end()) return pipeline::fetched{it->second, ""};
    return http_client::fetch_source(url);
  };
}

/// A pipeline restarted this often within a minute is left stopped (a crash loop serves nobody).
constexpr std::size_t max_restarts_per_minute = 5;

/// A detached actor that answers `load_atom` with the pipeline `name` read back from the store
/// (none when it is not there) and its text loaded (with the source bodies its record keeps).
caf::actor spawn_restart_loader(self_ptr self, const std::string& name) {
  auto db = self->state.ctx.db;
  auto limits = self->state.ctx.load_limits;
  return self->spawn<caf::detached>([db, name, limits] {
    return caf::behavior{[db, name, limits](proto::load_atom) {
      std::vector<persistence::stored_pipeline> found;
      pipeline::load_result loaded;
      try {
        if (auto p = persistence::load_pipeline(*db, name)) found.push_back(std::move(*p));
      } catch (const std::exception& e) {
        spdlog::error("event=pipeline.restart_read_failed pipeline={} error=\"{}\"", name,
                      e.what());
      }
      if (!found.empty()) {
        pipeline::load_options opts;
        opts.vars = persistence::pipeline_vars(found[0].doc);
        opts.fetch = as_when_set(found[0].doc);
        opts.limits = limits;
        loaded = pipeline::load(name + ".hcl", persistence::pipeline_text(found[0].doc), opts);
      }
      return std::make_tuple(std::move(found), std::move(loaded));
    }};
  });
}

/// A new actor for the restarted pipeline `name`, restored from `stored`.
void restore_restarted(self_ptr self, const std::string& name, pipeline::pipeline_config config,
                       persistence::stored_pipeline stored) {
  auto& st = self->state;
  auto cfg = std::make_shared<const pipeline::pipeline_config>(std::move(config));
  auto actor = spawn_pipeline(self->system(), name, st.ctx);
  self->monitor(actor);
  st.pipelines[name] = actor;
  self->request(actor, caf::infinite, proto::restore_atom::value, std::move(cfg), std::move(stored))
      .then(
          [self, name](bool) {
            self->state.restarting.erase(name);
            spdlog::warn("event=pipeline.restarted pipeline={}", name);
          },
          [self, name](caf::error& e) {
            self->state.restarting.erase(name);
            spdlog::error("event=pipeline.restart_failed pipeline={} error=\"{}\"", name,
                          caf::to_string(e));
          });
}

/// Supervision: the pipeline `name` died (an exception outside a handler, in it or in one of its
/// linked jobs and checkers). Its builds in the queue are withdrawn and their slots freed, then,
/// once everything it wrote is in the store, it is restored from there like at a start: pending
/// builds queue again, builds that were running end `errored` with the reason.
void restart_pipeline(self_ptr self, const std::string& name, const std::string& why) {
  auto& st = self->state;
  auto now = std::chrono::steady_clock::now();
  auto& times = st.restarts[name];
  while (!times.empty() && now - times.front() > std::chrono::minutes(1)) times.pop_front();
  auto reason = "errored: pipeline restarted after an internal error (" + why + ")";
  self->send(st.ctx.queue, proto::withdraw_atom::value, name, reason);
  if (times.size() >= max_restarts_per_minute || !st.ctx.db) {
    spdlog::error("event=pipeline.failed pipeline={} error=\"{}\" restarts={} (not restarted)",
                  name, why, times.size());
    st.failed[name] = why;
    return;
  }
  times.push_back(now);
  st.restarting.insert(name);
  spdlog::error("event=pipeline.restarting pipeline={} error=\"{}\"", name, why);
  auto give_up = [self, name](const std::string& what) {
    spdlog::error("event=pipeline.failed pipeline={} error=\"{}\" (not restarted)", name, what);
    self->state.restarting.erase(name);
    self->state.failed[name] = what;
  };
  // an empty synced write: the store writer answers once everything sent before is written;
  // then the pipeline is read back and its text loaded on a thread of its own (a read of the
  // store may block)
  write_then(self, st.ctx, {}, [self, name, reason, give_up](bool) {
    auto loader = spawn_restart_loader(self, name);
    self->request(loader, caf::infinite, proto::load_atom::value)
        .then(
            [self, name, reason, give_up, loader](std::vector<persistence::stored_pipeline>& found,
                                                  pipeline::load_result& loaded) {
              caf::anon_send_exit(loader, caf::exit_reason::user_shutdown);
              // handed off meanwhile (cluster mode): another node restores it
              if (self->state.restarting.count(name) == 0) return;
              if (found.empty()) return give_up("it is not in the store");
              if (!loaded.config)
                return give_up(invalid_pipeline(name, loaded.diags).failure->message);
              found[0].orphan_reason = reason;
              restore_restarted(self, name, std::move(*loaded.config), std::move(found[0]));
            },
            [self, name, give_up, loader](caf::error& e) {
              caf::anon_send_exit(loader, caf::exit_reason::user_shutdown);
              if (self->state.restarting.count(name) == 0) return;
              give_up("reading it back: " + caf::to_string(e));
            });
  });
}

/// Hands a loaded pipeline to its actor (spawned on first set), or answers 422.
void apply(self_ptr self, const proto::set_pipeline& req, pipeline::load_result& loaded,
           caf::typed_response_promise<domain::reply> rp) {
  if (!loaded.config) {
    spdlog::info("event=pipeline.rejected pipeline={} errors={}", req.pipeline,
                 loaded.diags.size());
    rp.deliver(invalid_pipeline(req.pipeline, loaded.diags));
    return;
  }
  if (cluster(self)) {
    // the partition may have started to move while the text loaded
    auto k = partition_of(self, req.pipeline);
    auto s = state_of(self, k);
    if (s != partition_state::active) {
      rp.deliver(refused_in(s, k, req.pipeline));
      return;
    }
  }
  auto cfg = std::make_shared<const pipeline::pipeline_config>(std::move(*loaded.config));
  auto& pipelines = self->state.pipelines;
  auto it = pipelines.find(req.pipeline);
  if (it == pipelines.end()) {
    auto actor = spawn_pipeline(self->system(), req.pipeline, self->state.ctx);
    self->monitor(actor);
    it = pipelines.emplace(req.pipeline, actor).first;
    self->state.failed.erase(req.pipeline);
  }
  ask_pipeline(self, req.pipeline, it->second, rp, proto::config_atom::value, std::move(cfg),
               req.config, req.vars);
}

/// How PUT /pipelines/{p} and POST /validate load pipeline text: the typed `vars`, the node's
/// limits, and http(s) sources fetched (or, `offline`, only noted).
pipeline::load_options load_options(self_ptr self, const json& vars, bool offline) {
  pipeline::load_options opts;
  opts.vars = vars;
  if (offline) {
    opts.offline = true;
  } else {
    opts.fetch = http_client::fetch_source;
  }
  opts.limits = self->state.ctx.load_limits;
  return opts;
}

/// Loads `text` (parses, evaluates, validates, fetches http(s) sources) on a thread of its own:
/// evaluation is bounded by the load's budget (up to seconds of CPU) and fetching may block, and
/// neither may stall the registry, which routes every other pipeline's requests. `loaded` or
/// `failed` runs in the registry's context.
void load_detached(self_ptr self, const std::string& pipeline_name, const std::string& text,
                   const pipeline::load_options& opts,
                   std::function<void(pipeline::load_result&)> loaded,
                   std::function<void(caf::error&)> failed) {
  auto name = (pipeline_name.empty() ? std::string("pipeline") : pipeline_name) + ".hcl";
  auto loader = self->spawn<caf::detached>([name, text, opts] {
    return caf::behavior{[=](proto::load_atom) { return pipeline::load(name, text, opts); }};
  });
  self->request(loader, caf::infinite, proto::load_atom::value)
      .then(
          [loader, loaded](pipeline::load_result& r) {
            caf::anon_send_exit(loader, caf::exit_reason::user_shutdown);
            loaded(r);
          },
          [failed](caf::error& e) { failed(e); });
}

/// PUT /pipelines/{p}: loaded (load_detached), then applied in the order the PUTs arrived.
caf::result<domain::reply> set(self_ptr self, proto::set_pipeline& req) {
  if (self->state.restarting.count(req.pipeline) != 0) return restarting(req.pipeline);
  auto rp = self->make_response_promise<domain::reply>();
  auto seq = ++self->state.next_load;
  self->state.loading[req.pipeline].waiting.insert(seq);
  // runs `finish` once every PUT of this pipeline that arrived earlier has been applied
  auto in_turn = [self, name = req.pipeline, seq, rp](std::function<void()> finish) mutable {
    auto& st = self->state;
    if (auto v = st.voided.find(seq); v != st.voided.end()) {
      rp.deliver(std::move(v->second));
      st.voided.erase(v);
      return;
    }
    auto& l = st.loading[name];
    l.done.emplace(seq, std::move(finish));
    while (!l.waiting.empty() && l.done.count(*l.waiting.begin()) != 0) {
      auto next = l.done.find(*l.waiting.begin());
      auto run = std::move(next->second);
      l.done.erase(next);
      l.waiting.erase(l.waiting.begin());
      run();
    }
    if (l.waiting.empty()) st.loading.erase(name);
  };
  load_detached(
      self, req.pipeline, req.config, load_options(self, req.vars, false),
      [self, req, rp, in_turn](pipeline::load_result& r) mutable {
        in_turn([self, req, rp,
                 loaded = std::make_shared<pipeline::load_result>(std::move(r))]() mutable {
          apply(self, req, *loaded, rp);
        });
      },
      [rp, in_turn](caf::error& e) mutable {
        in_turn([rp, e]() mutable {
          rp.deliver(domain::fail(domain::errc::internal, "loading: " + caf::to_string(e)));
        });
      });
  return rp;
}

/// Validations loading at once at most: each may take up to the load's CPU budget, and any
/// reader may ask.
constexpr std::size_t max_validations = 4;

/// POST /validate: loaded exactly as a PUT loads (load_detached), then only answered: 200
/// `{"valid": true, "notes"}` (the sources an offline load did not fetch) or the PUT's 422.
caf::result<domain::reply> validate(self_ptr self, const proto::validate_pipeline& req) {
  auto& st = self->state;
  if (st.validating >= max_validations)
    return domain::fail(domain::errc::queue_full,
                        "too many validations in progress; try again in a moment");
  ++st.validating;
  auto rp = self->make_response_promise<domain::reply>();
  load_detached(
      self, req.pipeline, req.config, load_options(self, req.vars, req.offline),
      [self, rp, name = req.pipeline](pipeline::load_result& r) mutable {
        --self->state.validating;
        if (!r.config) {
          rp.deliver(invalid_pipeline(name, r.diags));
        } else {
          rp.deliver(domain::done({{"valid", true}, {"notes", diagnostics_json(r.notes)}}));
        }
      },
      [self, rp](caf::error& e) mutable {
        --self->state.validating;
        rp.deliver(domain::fail(domain::errc::internal, "loading: " + caf::to_string(e)));
      });
  return rp;
}

/// Asks every pipeline and merges the builds: newest first, then the limit.
void all_builds(self_ptr self, const proto::list_builds& req, reply_fn done) {
  gather<domain::reply>(
      self, all(self),
      [req, done](std::vector<std::optional<domain::reply>> replies) {
        std::vector<json> builds;
        for (auto& r : replies)
          if (r && !r->failed())
            for (auto& b : r->value["builds"]) builds.push_back(std::move(b));
        std::sort(builds.begin(), builds.end(), [](const json& a, const json& b) {
          return a["id"].get<std::int64_t>() > b["id"].get<std::int64_t>();
        });
        if (req.limit != 0 && builds.size() > req.limit) builds.resize(req.limit);
        done(domain::done({{"builds", builds}}));
      },
      req);
}

/// The builds waiting for approval across pipelines (held by their jobs, outside the execution
/// queue), oldest first; empty when the pipelines could not say.
void waiting_builds(self_ptr self, std::function<void(json)> done) {
  proto::list_builds waiting;
  waiting.statuses = {model::build_status::waiting_for_approval};
  waiting.limit = 0;
  all_builds(self, waiting, [done](domain::reply r) {
    auto list = json::array();
    if (!r.failed())
      for (auto it = r.value["builds"].rbegin(); it != r.value["builds"].rend(); ++it)
        list.push_back(std::move(*it));
    done(std::move(list));
  });
}

/// Asks every pipeline; the first answer that is not `not_found` wins (lookups by global id or
/// token).
template <class Op>
void first_found(self_ptr self, const Op& req, domain::reply not_found, reply_fn done) {
  gather<domain::reply>(
      self, all(self),
      [not_found, done](std::vector<std::optional<domain::reply>> replies) {
        for (auto& r : replies)
          if (r && !(r->failed() && r->code() == domain::errc::not_found))
            return done(std::move(*r));
        done(not_found);
      },
      req);
}

/// GET /admin/export: a RocksDB checkpoint (or a RocksDB copy of the memory store) packed into
/// a ustar archive, made on a thread of its own. Everything acknowledged before is in it.
caf::result<domain::reply> export_store(self_ptr self) {
  auto db = self->state.ctx.db;
  if (!db) return domain::fail(domain::errc::internal, "this node has no store");
  auto exporter = self->spawn<caf::detached>([db] {
    return caf::behavior{[db](proto::load_atom) {
      namespace fs = std::filesystem;
      char tmpl[] = "/tmp/pikoci-export-XXXXXX";
      if (mkdtemp(tmpl) == nullptr)
        return domain::fail(domain::errc::internal, "export: cannot create a temporary directory");
      fs::path dir = fs::path(tmpl) / "db";
      domain::reply r;
      try {
        db->export_to(dir);
        r = domain::bytes(persistence::pack_directory(dir), "application/x-tar",
                          "pikoci-export.tar");
        spdlog::info("event=store.exported db={} bytes={}", db->kind(), r.bytes.size());
      } catch (const persistence::store_error& e) {
        r = domain::fail(domain::errc::internal, std::string("export: ") + e.what());
      }
      std::error_code ec;
      fs::remove_all(tmpl, ec);
      return r;
    }};
  });
  auto rp = self->make_response_promise<domain::reply>();
  self->request(exporter, caf::infinite, proto::load_atom::value)
      .then(
          [rp, exporter](domain::reply& r) mutable {
            caf::anon_send_exit(exporter, caf::exit_reason::user_shutdown);
            rp.deliver(std::move(r));
          },
          [rp](caf::error& e) mutable {
            rp.deliver(domain::fail(domain::errc::internal, "export: " + caf::to_string(e)));
          });
  return rp;
}

/// The process's resident memory and CPU time (Linux /proc), Prometheus' standard names.
void process_metrics(domain::metrics& out) {
  long pages = 0, resident = 0;
  if (std::FILE* f = std::fopen("/proc/self/statm", "r")) {
    if (std::fscanf(f, "%ld %ld", &pages, &resident) != 2) resident = 0;
    std::fclose(f);
  }
  out.add_gauge("process_resident_memory_bytes", "Resident memory of the node process.")
      .add({}, resident * sysconf(_SC_PAGESIZE));
  std::string stat;
  if (std::FILE* f = std::fopen("/proc/self/stat", "r")) {
    char buf[1024];
    auto n = std::fread(buf, 1, sizeof buf - 1, f);
    stat.assign(buf, n);
    std::fclose(f);
  }
  // fields after the command name (which may contain spaces): utime is the 14th, stime the 15th
  double cpu = 0;
  auto close = stat.rfind(')');
  if (close != std::string::npos) {
    std::istringstream rest(stat.substr(close + 2));
    std::string field;
    std::vector<std::string> fields;
    while (rest >> field && fields.size() < 13) fields.push_back(field);
    if (fields.size() == 13)
      cpu = (std::stod(fields[11]) + std::stod(fields[12])) /
            static_cast<double>(sysconf(_SC_CLK_TCK));
  }
  out.add_counter("process_cpu_seconds_total", "CPU time of the node process (user and system).")
      .add({}, cpu);
}

/// Workers by status and, with remote workers, whether the server hears the Kafka brokers (its
/// probes through the events topic come back). `w` is the dispatcher's workers view.
void worker_metrics(const json& w, domain::metrics& out) {
  std::map<std::string, int> by_status{{"healthy", 0}, {"draining", 0}, {"stale", 0}};
  for (const auto& x : w.value("workers", json::array())) ++by_status[x.value("status", "healthy")];
  auto& workers = out.add_gauge("pikoci_workers", "Workers by status.");
  for (const auto& [status, n] : by_status) workers.add({{"status", status}}, n);
  if (!w.contains("broker") || !w["broker"].is_object()) return;
  const auto& b = w["broker"];
  out.add_gauge("pikoci_kafka_broker_reachable",
                "1 when the server hears the Kafka brokers (its probes through the events topic "
                "come back).")
      .add({}, b.value("reachable", false) ? 1 : 0);
  if (b.contains("last_event_ms_ago"))
    out.add_gauge("pikoci_kafka_last_event_age_seconds",
                  "Since the server last read anything from the events topic.")
        .add({}, b.value("last_event_ms_ago", 0) / 1000.0);
}

/// GET /metrics: the queue's figures, workers by status, the process's memory and CPU, the
/// builds', steps' and checks' figures, the outbox's and whether the store takes writes (0 on a
/// full or read-only disk: new work is refused), in Prometheus text format.
caf::result<domain::reply> metrics(self_ptr self) {
  auto rp = self->make_response_promise<domain::reply>();
  auto& ctx = self->state.ctx;
  self->request(ctx.queue, caf::infinite, proto::metrics_atom::value)
      .then(
          [self, rp](std::string& queue) mutable {
            self->request(self->state.ctx.dispatcher, caf::infinite, proto::workers_atom::value)
                .then(
                    [rp, queue, figures = self->state.ctx.outbox_figures,
                     stats = self->state.ctx.stats, db = self->state.ctx.db](json& w) mutable {
                      domain::metrics out;
                      worker_metrics(w, out);
                      process_metrics(out);
                      stats->metrics(out);
                      if (figures) outbox_metrics(*figures, out);
                      if (db)
                        out.add_gauge("pikoci_store_available",
                                      "1 when the store takes writes, 0 when it refuses them "
                                      "(full or read-only disk).")
                            .add({}, db->status().available ? 1 : 0);
                      // the dispatcher's own families, rendered (Kafka hops)
                      rp.deliver(domain::bytes(queue + out.render() + w.value("metrics", ""),
                                               "text/plain; version=0.0.4"));
                    },
                    [rp](caf::error& e) mutable {
                      rp.deliver(domain::fail(domain::errc::internal, "workers: " + caf::to_string(e)));
                    });
          },
          [rp](caf::error& e) mutable {
            rp.deliver(domain::fail(domain::errc::internal, "queue: " + caf::to_string(e)));
          });
  return rp;
}

/// GET /api/v1/stats: the queue's figures, worker utilization (running builds over the slots of
/// the workers that take builds) and the finished builds' throughput and success rate.
caf::result<domain::reply> stats(self_ptr self) {
  auto rp = self->make_response_promise<domain::reply>();
  auto fail = [rp](caf::error& e) mutable {
    rp.deliver(domain::fail(domain::errc::internal, "stats: " + caf::to_string(e)));
  };
  self->request(self->state.ctx.queue, caf::infinite, proto::stats_atom::value)
      .then(
          [self, rp, fail](json& queue) mutable {
            self->request(self->state.ctx.dispatcher, caf::infinite, proto::workers_atom::value)
                .then(
                    [self, rp, queue](json& w) mutable {
                      std::int64_t slots = 0, running = 0, healthy = 0;
                      const auto workers = w.value("workers", json::array());
                      for (const auto& x : workers) {
                        if (x.value("status", "") != "healthy") continue;
                        ++healthy;
                        slots += x.value("concurrency", 0);
                        running += x.value("running", 0);
                      }
                      auto out = queue;
                      out["workers"] = {
                          {"total", workers.size()},
                          {"healthy", healthy},
                          {"slots", slots},
                          {"running", running},
                          {"utilization", slots == 0 ? json(nullptr)
                                                     : json(static_cast<double>(running) /
                                                            static_cast<double>(slots))}};
                      out.update(self->state.ctx.stats->summary(self->state.ctx.now()));
                      waiting_builds(self, [rp, out = std::move(out)](json builds) mutable {
                        if (!builds.empty()) out["blocked_by"]["approval"] = builds.size();
                        rp.deliver(domain::done(std::move(out)));
                      });
                    },
                    fail);
          },
          fail);
  return rp;
}

/// A promise answered by `start` when it calls back.
caf::result<domain::reply> later(self_ptr self, std::function<void(reply_fn)> start) {
  auto rp = self->make_response_promise<domain::reply>();
  start([rp](domain::reply resp) mutable { rp.deliver(std::move(resp)); });
  return rp;
}

/// A full or read-only disk: no new work and no changes, reads go on (docs/operations.md).
template <class Op>
std::optional<domain::reply> refused_by_store(self_ptr self) {
  const auto& db = self->state.ctx.db;
  if (!Op::writes || !db) return std::nullopt;
  auto s = db->status();
  if (s.available) return std::nullopt;
  return domain::fail(domain::errc::store_unavailable,
                      "the store takes no writes now (" + s.reason +
                          "); reads still work. Try again later");
}

/// The registry's answer for an operation on the pipeline `name` when it cannot hand it on: it
/// restarts, it is unknown, or it failed and was not restarted (only a set or a delete helps).
std::optional<domain::reply> unavailable(self_ptr self, const std::string& name, bool deleting) {
  auto& st = self->state;
  if (st.restarting.count(name) != 0) return restarting(name);
  if (st.pipelines.count(name) != 0) return std::nullopt;
  auto f = st.failed.find(name);
  if (f == st.failed.end())
    return domain::fail(domain::errc::not_found, "pipeline \"" + name + "\" not found");
  if (!deleting)
    return domain::fail(domain::errc::internal, "pipeline \"" + name +
                                                    "\" failed and was not restarted (" +
                                                    f->second + "); set it again");
  st.failed.erase(f);
  return std::nullopt;
}

/// An operation on one pipeline: handed to its actor, answered with an error when the pipeline
/// dies before it answers.
template <class Op>
caf::result<domain::reply> to_pipeline(self_ptr self, Op op) {
  if (auto g = gate(self, op.pipeline, op)) return std::move(*g);
  if (auto refused = refused_by_store<Op>(self)) return std::move(*refused);
  if (auto no = unavailable(self, op.pipeline, false)) return std::move(*no);
  auto name = op.pipeline;
  auto rp = self->make_response_promise<domain::reply>();
  ask_pipeline(self, name, self->state.pipelines.at(name), rp, std::move(op));
  return rp;
}

/// A node-wide operation: `run` answers it unless the store refuses it.
template <class Op, class F>
caf::result<domain::reply> node_wide(self_ptr self, F run) {
  if (auto refused = refused_by_store<Op>(self)) return std::move(*refused);
  return run();
}

caf::result<domain::reply> delete_pipeline(self_ptr self, const proto::delete_pipeline& d) {
  auto& st = self->state;
  const auto& name = d.pipeline;
  if (auto no = unavailable(self, name, true)) return std::move(*no);
  // PUTs of this name still loading arrived before the DELETE: they are void
  if (auto l = st.loading.find(name); l != st.loading.end()) {
    for (auto seq : l->second.waiting)
      st.voided.emplace(seq, domain::fail(domain::errc::conflict,
                                          "pipeline \"" + name +
                                              "\" was deleted while this PUT was loading"));
    st.loading.erase(l);
  }
  if (auto it = st.pipelines.find(name); it != st.pipelines.end()) {
    self->send(it->second, proto::shutdown_atom::value);
    st.pipelines.erase(it);
  }
  if (st.ctx.artifacts) st.ctx.artifacts->remove_pipeline(name);
  spdlog::info("event=pipeline.deleted pipeline={}", name);
  namespace keys = persistence::keys;
  persistence::batch gone{erase_key(keys::pipeline(name))};
  for (const char* tag : {"version", "usage", "check", "build"})
    gone.push_back(erase_prefix(keys::prefix({tag, name})));
  if (auto secrets = st.secrets->remove_all(name)) gone.push_back(std::move(*secrets));
  // cluster mode: the catalog every node keeps forgets it, in the same batch
  if (cluster(self)) gone.push_back(erase_key(keys::catalog(name)));
  auto rp = self->make_response_promise<domain::reply>();
  write_then(self, st.ctx, gone, [self, rp, gone, name](bool ok) mutable {
    if (ok && self->state.ctx.catalog && cluster(self))
      self->state.ctx.catalog->apply(name, std::nullopt);
    if (!ok) put(self, self->state.ctx, std::move(gone));  // the pipeline is gone here already
    rp.deliver(ok ? domain::nothing()
                  : domain::fail(domain::errc::store_unavailable,
                                 "the store could not record the delete"));
  });
  return rp;
}

/// Applies a write of the internal secret store, answering `ok` once it is stored.
caf::result<domain::reply> secret_write(self_ptr self,
                                        std::variant<persistence::write_op, domain::error> op,
                                        domain::reply ok) {
  if (auto* e = std::get_if<domain::error>(&op)) return domain::fail(std::move(*e));
  auto rp = self->make_response_promise<domain::reply>();
  write_then(self, self->state.ctx, {std::get<persistence::write_op>(op)},
             [rp, ok](bool stored) mutable {
               rp.deliver(stored ? ok
                                 : domain::fail(domain::errc::store_unavailable,
                                                "the store could not record the secret"));
             });
  return rp;
}

/// A pipeline scope that does not exist is refused (its secrets would outlive nothing). In
/// cluster mode a pipeline of another node exists too (the catalog has it: its secrets are
/// replicated here); a change reaches this only on the pipeline's owner (`gate`).
std::optional<domain::reply> unknown_scope(self_ptr self, const std::string& pipeline) {
  if (pipeline.empty() || self->state.pipelines.count(pipeline) != 0) return std::nullopt;
  const auto& catalog = self->state.ctx.catalog;
  if (cluster(self) && catalog && catalog->get(pipeline)) return std::nullopt;
  return domain::fail(domain::errc::not_found, "pipeline \"" + pipeline + "\" not found");
}

caf::result<domain::reply> set_secret(self_ptr self, const proto::set_secret& s) {
  if (auto no = unknown_scope(self, s.pipeline)) return std::move(*no);
  auto op = self->state.secrets->set(s.pipeline, s.secret, s.value);
  spdlog::info("event=secret.set pipeline={} name={}", s.pipeline.empty() ? "-" : s.pipeline,
               s.secret);
  return secret_write(self, std::move(op),
                      domain::done({{"name", s.secret},
                                    {"scope", s.pipeline.empty() ? "team" : "pipeline"}}));
}

caf::result<domain::reply> delete_secret(self_ptr self, const proto::delete_secret& d) {
  if (auto no = unknown_scope(self, d.pipeline)) return std::move(*no);
  return secret_write(self, self->state.secrets->remove(d.pipeline, d.secret), domain::nothing());
}

caf::result<domain::reply> read_secret(self_ptr self, const proto::read_secret& r) {
  auto v = self->state.secrets->read(r.pipeline, r.secret);
  if (auto* e = std::get_if<domain::error>(&v)) return domain::fail(std::move(*e));
  return domain::done({{"value", std::get<std::string>(v)}});
}

// ---- user accounts (docs/users.md): changed in the store the HTTP edge reads, then written

json user_json(const auth::account& a) {
  return {{"username", a.name},
          {"role", std::string(auth::to_string(a.r))},
          {"builtin", a.builtin},
          {"created_at", a.builtin ? json(nullptr)
                                   : json(model::format_time(
                                         model::time_point(std::chrono::seconds(a.created_at))))}};
}

caf::result<domain::reply> list_users(self_ptr self) {
  auto out = json::array();
  if (self->state.ctx.users)
    for (const auto& a : self->state.ctx.users->list()) out.push_back(user_json(a));
  return domain::done({{"users", std::move(out)}});
}

/// Writes a changed account (its record) or its removal (none), answering the account as it now
/// is once stored.
caf::result<domain::reply> user_write(self_ptr self, const std::string& name,
                                      std::optional<std::string> record, bool created = false) {
  const auto& users = self->state.ctx.users;
  json answer = json::object();
  for (const auto& a : users->list())
    if (a.name == name) answer = user_json(a);
  auto rp = self->make_response_promise<domain::reply>();
  write_then(self, self->state.ctx,
             {persistence::write_op{persistence::keys::user(name), std::move(record), false}},
             [rp, answer, created](bool stored) mutable {
               auto ok = answer.empty() ? domain::nothing()
                         : created      ? domain::created(answer)
                                        : domain::done(answer);
               rp.deliver(stored ? std::move(ok)
                                 : domain::fail(domain::errc::store_unavailable,
                                                "the store could not record the account"));
             });
  return rp;
}

caf::result<domain::reply> change_user(self_ptr self, const std::string& name, const char* event,
                                       std::variant<std::string, domain::error> changed) {
  if (auto* e = std::get_if<domain::error>(&changed)) return domain::fail(std::move(*e));
  spdlog::info("event=user.{} user={}", event, name);
  return user_write(self, name, std::move(std::get<std::string>(changed)),
                    std::string_view(event) == "created");
}

/// A change of the accounts: refused when the node has none (unit tests) or the store takes no
/// writes.
template <class Op, class F>
caf::result<domain::reply> accounts(self_ptr self, F run) {
  if (!self->state.ctx.users)
    return domain::fail(domain::errc::internal, "this node has no user accounts");
  return node_wide<Op>(self, run);
}

caf::result<domain::reply> create_user(self_ptr self, const proto::create_user& c) {
  auto now =
      std::chrono::duration_cast<std::chrono::seconds>(self->state.ctx.now().time_since_epoch())
          .count();
  return change_user(self, c.username, "created",
                     self->state.ctx.users->create(c.username, c.role, c.password, now));
}

caf::result<domain::reply> update_user(self_ptr self, const proto::update_user& u) {
  auto& users = *self->state.ctx.users;
  if (!u.role && !u.password)
    return domain::fail(domain::errc::bad_request, "give a role or a password");
  std::variant<std::string, domain::error> changed;
  // the role first: a refused role change must not leave a new password behind
  if (u.role) changed = users.set_role(u.username, *u.role);
  if (u.password && !std::holds_alternative<domain::error>(changed))
    changed = users.set_password(u.username, *u.password);
  return change_user(self, u.username, u.password ? "password_changed" : "role_changed",
                     std::move(changed));
}

caf::result<domain::reply> delete_user(self_ptr self, const proto::delete_user& d) {
  if (auto e = self->state.ctx.users->remove(d.username)) return domain::fail(std::move(*e));
  spdlog::info("event=user.deleted user={}", d.username);
  return user_write(self, d.username, std::nullopt);
}

/// GET /pipelines. Cluster mode: every pipeline of the cluster, from the catalog (each with its
/// partition); single mode: this node's pipelines, asked at once.
caf::result<domain::reply> list_pipelines(self_ptr self) {
  if (cluster(self) && self->state.ctx.catalog) {
    auto out = json::array();
    for (auto& [name, s] : self->state.ctx.catalog->list())
      out.push_back({{"name", name},
                     {"paused", s.paused},
                     {"jobs", s.jobs},
                     {"created_at", s.created_at},
                     {"updated_at", s.updated_at},
                     {"partition", s.partition}});
    return domain::done({{"pipelines", std::move(out)}});
  }
  return later(self, [self](reply_fn done) {
    gather<json>(
        self, all(self),
        [done](std::vector<std::optional<json>> summaries) {
          auto out = json::array();
          for (auto& s : summaries)
            if (s) out.push_back(std::move(*s));
          done(domain::done({{"pipelines", out}}));
        },
        proto::summary_atom::value);
  });
}

/// GET /dashboard: every pipeline's part (its jobs' summaries), by name, and the queue's figures,
/// in one answer: the pipelines are asked at once, like GET /pipelines. Cluster mode: this
/// node's pipelines only (the others' jobs' summaries are on their owners).
caf::result<domain::reply> dashboard(self_ptr self) {
  return later(self, [self](reply_fn done) {
    gather<json>(
        self, all(self),
        [self, done](std::vector<std::optional<json>> parts) {
          auto pipelines = std::make_shared<json>(json::array());
          for (auto& p : parts)
            if (p) pipelines->push_back(std::move(*p));
          self->request(self->state.ctx.queue, caf::infinite, proto::stats_atom::value)
              .then(
                  [done, pipelines](json& q) {
                    done(domain::done({{"pipelines", std::move(*pipelines)},
                                       {"in_flight", q.value("in_flight", 0)},
                                       {"queued", q.value("queue_depth", 0)}}));
                  },
                  [done](caf::error& e) {
                    done(domain::fail(domain::errc::internal, "queue: " + caf::to_string(e)));
                  });
        },
        proto::dashboard_atom::value);
  });
}

/// GET /events: subscribed to every pipeline's events, or to one pipeline's (in cluster mode any
/// pipeline of the cluster: its events come through the cluster wherever it is owned).
domain::reply watch_events(self_ptr self, const proto::watch_events& w) {
  auto& st = self->state;
  if (!w.pipeline.empty() && st.pipelines.count(w.pipeline) == 0 &&
      st.restarting.count(w.pipeline) == 0 &&
      !(cluster(self) && st.ctx.catalog && st.ctx.catalog->get(w.pipeline)))
    return domain::fail(domain::errc::not_found, "pipeline \"" + w.pipeline + "\" not found");
  st.ctx.events->subscribe(w.sink, w.pipeline, w.last_event_id);
  return domain::nothing();
}

/// GET /queue: the execution queue's view, plus the builds waiting for approval (held by their
/// jobs, outside the queue), oldest first, each `blocked_by` "approval".
caf::result<domain::reply> queue_view(self_ptr self) {
  return later(self, [self](reply_fn done) {
    self->request(self->state.ctx.queue, caf::infinite, proto::queue_atom::value)
        .then(
            [self, done](json& q) {
              waiting_builds(self, [done, q = std::move(q)](json builds) mutable {
                auto list = json::array();
                for (auto& b : builds)
                  list.push_back({{"build", std::move(b)}, {"blocked_by", "approval"}});
                q["waiting"] = std::move(list);
                done(domain::done(std::move(q)));
              });
            },
            [done](caf::error& e) {
              done(domain::fail(domain::errc::internal, "queue: " + caf::to_string(e)));
            });
  });
}

caf::result<domain::reply> workers_view(self_ptr self) {
  return later(self, [self](reply_fn done) {
    self->request(self->state.ctx.dispatcher, caf::infinite, proto::workers_atom::value)
        .then(
            [done](json& w) {
              w.erase("metrics");  // for GET /metrics
              done(domain::done(std::move(w)));
            },
            [done](caf::error& e) {
              done(domain::fail(domain::errc::internal, "workers: " + caf::to_string(e)));
            });
  });
}

caf::result<domain::reply> forget_worker(self_ptr self, const std::string& name) {
  return later(self, [self, name](reply_fn done) {
    self->request(self->state.ctx.dispatcher, caf::infinite, proto::forget_atom::value, name)
        .then([done](domain::reply& r) { done(std::move(r)); },
              [done](caf::error& e) {
                done(domain::fail(domain::errc::internal, "workers: " + caf::to_string(e)));
              });
  });
}

/// GET /notifications, POST /notifications/{id}/retry: the outbox's.
template <class Op>
caf::result<domain::reply> to_outbox(self_ptr self, Op op) {
  if (auto refused = refused_by_store<Op>(self)) return std::move(*refused);
  if (!self->state.ctx.outbox)
    return domain::fail(domain::errc::not_found, "this node has no outbox");
  return self->delegate(self->state.ctx.outbox, std::move(op));
}

/// Start-up from a store. The text of each pipeline is loaded again, with the bodies of its
/// http(s) sources as they were when it was set (on this thread: nothing else runs yet). A pipeline whose text no longer loads
/// is left in the store untouched and reported.
caf::result<int> restore(self_ptr self, std::vector<persistence::stored_pipeline>& stored) {
  auto rp = self->make_response_promise<int>();
  auto left = std::make_shared<std::size_t>(1);
  auto count = std::make_shared<int>(0);
  auto one_done = [rp, left, count]() mutable {
    if (--*left == 0) rp.deliver(*count);
  };
  for (auto& p : stored) {
    pipeline::load_options opts;
    opts.vars = persistence::pipeline_vars(p.doc);
    opts.fetch = as_when_set(p.doc);
    opts.limits = self->state.ctx.load_limits;
    auto loaded = pipeline::load(p.name + ".hcl", persistence::pipeline_text(p.doc), opts);
    if (!loaded.config) {
      spdlog::error(
          "event=pipeline.restore_failed pipeline={} error=\"{}\" (kept in the store)", p.name,
          invalid_pipeline(p.name, loaded.diags).failure->message);
      continue;
    }
    auto cfg = std::make_shared<const pipeline::pipeline_config>(std::move(*loaded.config));
    auto actor = spawn_pipeline(self->system(), p.name, self->state.ctx);
    self->monitor(actor);
    self->state.pipelines.emplace(p.name, actor);
    ++*left;
    self->request(actor, caf::infinite, proto::restore_atom::value, std::move(cfg), std::move(p))
        .then(
            [one_done, count](bool) mutable {
              ++*count;
              one_done();
            },
            [one_done](caf::error&) mutable { one_done(); });
  }
  one_done();
  return rp;
}

/// Cluster: a gained partition's pipelines come back like at a start, while the node runs. Their
/// builds are held in the queue until every one of them is restored, so a pending build cannot
/// start before its pipeline's running build is adopted (`serial`).
caf::result<int> gain(self_ptr self, std::vector<persistence::stored_pipeline>& stored) {
  std::vector<std::string> names;
  for (const auto& p : stored) names.push_back(p.name);
  self->send(self->state.ctx.queue, proto::hold_atom::value, names, true);
  auto rp = self->make_response_promise<int>();
  self->request(caf::actor_cast<proto::registry_actor>(self), caf::infinite,
                proto::restore_atom::value, std::move(stored))
      .then([self, rp, names](int restored) mutable {
        self->send(self->state.ctx.queue, proto::hold_atom::value, names, false);
        rp.deliver(restored);
      });
  return rp;
}

/// Cluster: the pipelines move to another node. They leave the registry first (their end is not
/// a failure to restart from), then hand off; answered once all of them are gone. Nothing of
/// them stays: a restart in progress is dropped, PUTs still loading and operations held for
/// their partition are answered `not_owner` (the edge sends them on to the new owner).
caf::result<int> hand_off(self_ptr self, const std::vector<std::string>& names) {
  auto& st = self->state;
  for (const auto& name : names) {
    st.restarting.erase(name);
    st.failed.erase(name);
    st.restarts.erase(name);
    if (auto l = st.loading.find(name); l != st.loading.end()) {
      for (auto seq : l->second.waiting)
        st.voided.emplace(seq, not_owner(partition_of(self, name), name));
      st.loading.erase(l);
    }
  }
  drop_waiting(self, std::set<std::string>(names.begin(), names.end()));
  std::vector<std::string> here;
  for (const auto& name : names)
    if (st.pipelines.count(name) != 0) here.push_back(name);
  // no grant reaches a job that is leaving (it would record a dispatch); the queue's withdraw
  // of each pipeline ends its hold
  self->send(st.ctx.queue, proto::hold_atom::value, here, true);
  // what the pipelines took already (a PUT or a trigger waiting for its write) is answered
  // first, within a bound; new operations wait at the gate (the partition is moving)
  auto rp = self->make_response_promise<int>();
  st.handoffs.push_back({here, rp, self->clock().now() + handoff_drain});
  try_hand_off(self);
  if (!st.handoffs.empty()) start_ticking(self);
  return rp;
}

/// The pipelines leave: their actors stop without cancelling anything; answers `rp` once they
/// are gone.
void leave_now(self_ptr self, const std::vector<std::string>& here,
               caf::typed_response_promise<int> rp) {
  auto& st = self->state;
  std::vector<proto::pipeline_actor> leaving;
  for (const auto& name : here) {
    auto it = st.pipelines.find(name);
    self->demonitor(it->second.address());
    leaving.push_back(it->second);
    st.pipelines.erase(it);
  }
  gather<bool>(
      self, leaving,
      [self, rp, here](std::vector<std::optional<bool>> done) mutable {
        // what the pipelines took before the handoff is answered; anything left never will be
        for (const auto& name : here) {
          auto f = self->state.in_flight.find(name);
          if (f == self->state.in_flight.end()) continue;
          for (auto& [id, p] : f->second)
            p.deliver(domain::fail(domain::errc::internal,
                                   "pipeline \"" + name + "\" moved to another node"));
          self->state.in_flight.erase(f);
        }
        int n = 0;
        for (const auto& d : done) n += d.value_or(false);
        rp.deliver(n);
      },
      proto::handoff_atom::value);
}

/// Runs the handoffs whose pipelines have answered everything they took (or whose bound is
/// over: what is left is answered with a 500 as the pipelines go).
void try_hand_off(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  for (auto it = st.handoffs.begin(); it != st.handoffs.end();) {
    bool busy = std::any_of(it->names.begin(), it->names.end(), [&](const std::string& n) {
      return st.in_flight.count(n) != 0;
    });
    if (busy && now < it->deadline) {
      ++it;
      continue;
    }
    auto h = std::move(*it);
    it = st.handoffs.erase(it);
    leave_now(self, h.names, h.rp);
  }
}

/// A monitored pipeline ended: the requests it was handling fail; unless it was stopped on
/// purpose, it is restarted.
void pipeline_down(self_ptr self, const caf::down_msg& dm) {
  auto& st = self->state;
  auto it = std::find_if(st.pipelines.begin(), st.pipelines.end(),
                         [&](const auto& p) { return p.second.address() == dm.source; });
  if (it == st.pipelines.end()) return;  // deleted, or replaced already
  auto name = it->first;
  st.pipelines.erase(it);
  if (auto f = st.in_flight.find(name); f != st.in_flight.end()) {
    for (auto& [id, rp] : f->second)
      rp.deliver(domain::fail(domain::errc::internal,
                              "pipeline \"" + name + "\" failed while handling this request (" +
                                  caf::to_string(dm.reason) + ")"));
    st.in_flight.erase(f);
  }
  if (dm.reason == caf::exit_reason::normal || dm.reason == caf::exit_reason::user_shutdown) return;
  restart_pipeline(self, name, caf::to_string(dm.reason));
}

proto::registry_actor::behavior_type registry_behavior(self_ptr self, context ctx) {
  self->state.ctx = std::move(ctx);
  self->state.secrets = std::make_unique<secret_store>(self->state.ctx.secret_box);
  if (self->state.ctx.db) self->state.secrets->load(*self->state.ctx.db);
  self->set_down_handler([self](caf::down_msg& dm) { pipeline_down(self, dm); });
  return guarded_behavior<proto::registry_actor::behavior_type>(
      self, [] { return std::string("registry"); },
      // ---- node-wide operations (protocols/registry.hpp)
      [self](const proto::list_pipelines&) { return list_pipelines(self); },
      [self](proto::set_pipeline& s) {
        return owned(self, s.pipeline, s, [&] {
          return node_wide<proto::set_pipeline>(self, [&] { return set(self, s); });
        });
      },
      [self](const proto::delete_pipeline& d) {
        return owned(self, d.pipeline, d, [&] {
          return node_wide<proto::delete_pipeline>(self, [&] { return delete_pipeline(self, d); });
        });
      },
      [self](const proto::set_secret& s) {
        return owned(self, s.pipeline, s, [&] {
          return node_wide<proto::set_secret>(self, [&] { return set_secret(self, s); });
        });
      },
      [self](const proto::delete_secret& d) {
        return owned(self, d.pipeline, d, [&] {
          return node_wide<proto::delete_secret>(self, [&] { return delete_secret(self, d); });
        });
      },
      [self](const proto::list_secrets& l) -> caf::result<domain::reply> {
        if (auto no = unknown_scope(self, l.pipeline)) return std::move(*no);
        return domain::done(self->state.secrets->list(l.pipeline));
      },
      [self](const proto::read_secret& r) { return read_secret(self, r); },
      [self](const proto::list_users&) { return list_users(self); },
      [self](const proto::create_user& c) {
        return owned(self, "", c, [&] {
          return accounts<proto::create_user>(self, [&] { return create_user(self, c); });
        });
      },
      [self](const proto::update_user& u) {
        return owned(self, "", u, [&] {
          return accounts<proto::update_user>(self, [&] { return update_user(self, u); });
        });
      },
      [self](const proto::delete_user& d) {
        return owned(self, "", d, [&] {
          return accounts<proto::delete_user>(self, [&] { return delete_user(self, d); });
        });
      },
      [self](const proto::get_queue&) { return queue_view(self); },
      [self](const proto::list_workers&) { return workers_view(self); },
      [self](const proto::forget_worker& f) { return forget_worker(self, f.worker); },
      [self](const proto::export_store&) { return export_store(self); },
      [self](const proto::get_metrics&) { return metrics(self); },
      [self](const proto::get_stats&) { return stats(self); },
      [self](const proto::watch_events& w) { return watch_events(self, w); },
      [self](const proto::get_dashboard&) { return dashboard(self); },
      [self](const proto::validate_pipeline& v) { return validate(self, v); },
      [self](const proto::webhook& w) {
        return node_wide<proto::webhook>(self, [&] {
          return later(self, [self, w](reply_fn done) {
            first_found(self, w, domain::fail(domain::errc::not_found, "unknown webhook token"),
                        done);
          });
        });
      },
      [self](const proto::list_builds& l) -> caf::result<domain::reply> {
        if (!l.pipeline.empty()) return to_pipeline(self, l);
        return later(self, [self, l](reply_fn done) { all_builds(self, l, done); });
      },
      [self](const proto::get_build& g) -> caf::result<domain::reply> {
        if (!g.pipeline.empty()) return to_pipeline(self, g);
        return later(self, [self, g](reply_fn done) {
          first_found(self, g,
                      domain::fail(domain::errc::not_found,
                                   "build " + std::to_string(g.id) + " not found"),
                      done);
        });
      },
      // ---- handed to the pipeline they name (protocols/pipeline.hpp, protocols/job.hpp)
      [self](proto::get_pipeline& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::get_graph& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::pause_pipeline& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::set_concurrency& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::list_jobs& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::trigger_job& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::list_resources& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::check_resource& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::list_versions& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::add_version& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::trigger_version& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::pin_resource& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::regenerate_webhook_token& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::set_git_webhook& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::git_webhook& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::get_job& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::cancel_build& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::retry_build& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::decide_build& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::mark_warning& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::watch_build& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::pause_job& op) { return to_pipeline(self, std::move(op)); },
      [self](proto::get_build_plan& op) { return to_pipeline(self, std::move(op)); },
      // ---- the outbox's (protocols/outbox.hpp)
      [self](proto::list_notifications& op) { return to_outbox(self, std::move(op)); },
      [self](proto::retry_notification& op) { return to_outbox(self, std::move(op)); },
      [self](proto::shutdown_atom) -> caf::result<int> {
        return self->delegate(self->state.ctx.dispatcher, proto::shutdown_atom::value);
      },
      [self](proto::restore_atom, std::vector<persistence::stored_pipeline>& stored) {
        return restore(self, stored);
      },
      [self](proto::gain_atom, std::vector<persistence::stored_pipeline>& stored) {
        return gain(self, stored);
      },
      [self](proto::handoff_atom, const std::vector<std::string>& names) {
        return hand_off(self, names);
      },
      [self](proto::handoff_atom, int k) {
        std::vector<std::string> names;
        const int parts = self->state.ctx.partition_count;
        for (const auto& [name, actor] : self->state.pipelines)
          if (parts > 0 && persistence::partition_of(name, parts) == k) names.push_back(name);
        return hand_off(self, names);
      },
      [self](proto::tick_atom) { recheck(self); },
      // ---- cluster mode: a record of the global topic (protocols/replicated.hpp)
      [self](proto::replicated_atom, const std::string& key,
             const std::optional<std::string>& value) {
        auto& st = self->state;
        apply_replicated(key, value, {st.ctx.users.get(), st.secrets.get(), st.ctx.catalog.get()});
      });
}

}  // namespace

json diagnostics_json(const hcl::diagnostics& diags) {
  auto list = json::array();
  for (const auto& d : diags)
    list.push_back(
        {{"line", d.rng.start.line}, {"column", d.rng.start.column}, {"message", d.message()}});
  return list;
}

domain::reply invalid_pipeline(const std::string& name, const hcl::diagnostics& diags) {
  std::string first = diags.size() == 0 ? "" : diags.begin()->message();
  return domain::fail(
      domain::errc::invalid_pipeline,
      (name.empty() ? std::string("the pipeline") : "pipeline \"" + name + "\"") + " is invalid: " +
          first + (diags.size() > 1 ? " (and " + std::to_string(diags.size() - 1) + " more)" : ""),
      {{"diagnostics", diagnostics_json(diags)}});
}

proto::registry_actor spawn_registry(caf::actor_system& sys, context ctx) {
  // Before the registry (and the HTTP edge) runs: the stored accounts can log in at once.
  if (ctx.db && ctx.users)
    ctx.db->scan(persistence::keys::prefix({"user"}),
                 [&](std::string_view key, std::string_view v) {
                   if (!ctx.users->load(v))
                     spdlog::warn("event=user.unreadable user={}", persistence::keys::last(key));
                 });
  return sys.spawn(registry_behavior, std::move(ctx));
}

}  // namespace pikoci::server
