#include "actors/server/resource_checker.hpp"

#include <spdlog/spdlog.h>

#include "actors/server/guard.hpp"
#include "actors/server/persist.hpp"
#include "config/pipeline/schedule.hpp"
#include "persistence/keys.hpp"
#include "persistence/records.hpp"

namespace pikoci::server {
namespace {

struct checker_state {
  checker_setup setup;
  std::optional<pipeline::schedule> sched;
  std::int64_t generation = 0;  // of the armed timer; older timers are ignored
  std::int64_t sequence = 0;    // of the check in flight; older results are ignored
  bool in_flight = false;
  bool again = false;  // a check was requested while one was in flight
  std::optional<model::time_point> last_check_at, next_check_at;
  std::optional<std::string> check_error;
};

using self_ptr = proto::resource_checker_actor::stateful_pointer<checker_state>;
using nlohmann::json;

void configure(self_ptr self, const std::string& interval) {
  std::string error;
  self->state.sched = pipeline::schedule::parse(interval, error);
  if (!self->state.sched) {  // validation rejects these; keep the default then
    spdlog::warn("event=resource.bad_interval resource={} error=\"{}\"",
                 self->state.setup.canonical, error);
    self->state.sched = pipeline::schedule::parse("@every 1m", error);
  }
}

void arm(self_ptr self, model::time_point now) {
  auto& st = self->state;
  if (st.setup.ctx.local_run) return;  // checked only when asked
  st.next_check_at = st.sched->next(now);
  auto gen = ++st.generation;
  self->delayed_send(self, *st.next_check_at - now, proto::due_atom::value, gen);
}

/// {"checking","last_check_at","next_check_at","check_error"}: what `state_atom` answers.
nlohmann::json state_json(const checker_state& st) {
  auto t = [](const std::optional<model::time_point>& tp) {
    return tp ? nlohmann::json(model::format_time(*tp)) : nlohmann::json(nullptr);
  };
  return nlohmann::json{
      {"checking", st.in_flight},
      {"last_check_at", t(st.last_check_at)},
      {"next_check_at", t(st.next_check_at)},
      {"check_error", st.check_error ? nlohmann::json(*st.check_error) : nullptr}};
}

/// A check started or ended: the pipeline publishes a `resource` event (GET /events) when the
/// node has subscribers.
void tell_changed(self_ptr self) {
  auto& st = self->state;
  if (st.setup.ctx.events->wanted())
    self->send(st.setup.host, proto::state_atom::value, st.setup.canonical, state_json(st));
}

void check_now(self_ptr self) {
  auto& st = self->state;
  if (st.in_flight) {
    st.again = true;
    return;
  }
  st.in_flight = true;
  auto now = st.setup.ctx.now();
  st.last_check_at = now;
  arm(self, now);
  auto seq = ++st.sequence;
  tell_changed(self);
  self->request(st.setup.host, caf::infinite, proto::command_atom::value, st.setup.canonical)
      .then(
          [self, seq](proto::check_command& cmd) {
            auto& st = self->state;
            if (!cmd.command) {
              // no check command: nothing to find, not an error
              st.in_flight = false;
              tell_changed(self);
              return;
            }
            proto::check_work work;
            work.resource = st.setup.canonical;
            work.sequence = seq;
            work.command = std::move(*cmd.command);
            work.tags = std::move(cmd.tags);
            work.secrets = std::move(cmd.secrets);
            work.owner = caf::actor_cast<proto::check_events_actor>(self);
            self->send(st.setup.ctx.dispatcher, proto::run_check_atom::value, std::move(work));
          },
          [self](caf::error&) {
            self->state.in_flight = false;
            tell_changed(self);
          });
}

proto::resource_checker_actor::behavior_type checker_behavior(self_ptr self, checker_setup setup) {
  self->state.setup = std::move(setup);
  auto& st = self->state;
  configure(self, st.setup.check_interval);
  auto stored = persistence::check_from_json(st.setup.stored);
  if (stored.last_check_at) {
    st.last_check_at = model::parse_time(*stored.last_check_at);
    st.check_error = std::move(stored.check_error);
    auto now = st.setup.ctx.now();
    auto next = st.sched->next(*st.last_check_at);
    if (next <= now) {
      check_now(self);
    } else {
      st.next_check_at = next;
      auto gen = ++st.generation;
      self->delayed_send(self, next - now, proto::due_atom::value, gen);
    }
  } else if (!st.setup.ctx.local_run) {
    check_now(self);  // due once at creation
  }
  return guarded_behavior<proto::resource_checker_actor::behavior_type>(
      self,
      [self] {
        return "pipeline=" + self->state.setup.pipeline +
               " resource=" + self->state.setup.canonical;
      },
      [self](proto::config_atom, const std::string& interval) {
        if (interval == self->state.setup.check_interval) return;
        self->state.setup.check_interval = interval;
        configure(self, interval);
        arm(self, self->state.setup.ctx.now());
      },
      [self](proto::check_atom) { check_now(self); },
      [self](proto::due_atom, std::int64_t gen) {
        if (gen == self->state.generation) check_now(self);
      },
      [self](proto::state_atom) { return state_json(self->state); },
      [self](proto::check_done_atom, std::int64_t seq, work::check_result& result) {
        auto& st = self->state;
        if (seq != st.sequence) return;
        st.in_flight = false;
        st.setup.ctx.stats->check_finished(std::chrono::duration_cast<std::chrono::milliseconds>(
                                               st.setup.ctx.now() - *st.last_check_at),
                                           result.error.has_value());
        if (result.error) {
          std::string text = result.log;
          if (text.find(*result.error) == std::string::npos) {
            if (!text.empty() && text.back() != '\n') text += '\n';
            text += *result.error;
          }
          st.check_error = text;
          spdlog::info("event=resource.check_failed pipeline={} resource={} error=\"{}\"",
                       st.setup.pipeline, st.setup.canonical, *result.error);
        } else {
          st.check_error.reset();
          // also when nothing is new: the pipeline retries triggers a full queue refused
          self->send(st.setup.host, proto::found_atom::value, st.setup.canonical,
                     std::move(result.versions));
        }
        put(self, st.setup.ctx,
            {set_json(persistence::keys::check(st.setup.pipeline, st.setup.canonical),
                      persistence::to_json(persistence::check_entry{
                          model::format_time(*st.last_check_at), st.check_error}))});
        // after found_atom: the pipeline has recorded the versions the event names as newest
        tell_changed(self);
        if (st.again) {
          st.again = false;
          check_now(self);
        }
      });
}

}  // namespace

proto::resource_checker_actor spawn_resource_checker(caf::actor_system& sys, checker_setup setup) {
  return sys.spawn(checker_behavior, std::move(setup));
}

}  // namespace pikoci::server
