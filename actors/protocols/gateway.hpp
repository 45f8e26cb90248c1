#pragma once
// The way into the node for code that is not an actor (the HTTP edge's I/O threads, the start-up
// path): `call` hands one operation to the registry and runs `done` with its reply later, on a
// CAF thread. An operation the registry does not take is a compile error here.

#include <functional>
#include <future>
#include <memory>
#include <utility>

#include "actors/protocols/registry.hpp"

namespace pikoci::proto {

using reply_fn = std::function<void(domain::reply)>;
/// Work the bridge actor runs in its own context (it is the one that sends and gets replies).
using bridge_task = std::function<void(caf::event_based_actor*)>;

class gateway {
 public:
  gateway() = default;
  gateway(caf::actor bridge, registry_actor registry)
      : bridge_(std::move(bridge)), registry_(std::move(registry)) {}

  /// Never blocks; `done` runs once.
  template <class Op>
  void call(Op op, reply_fn done) const {
    static_assert(is_operation<Op>::value, "not an operation (see actors/protocols/operation.hpp)");
    caf::anon_send(bridge_, bridge_task{[registry = registry_, op = std::move(op),
                                         done = std::move(done)](caf::event_based_actor* self) {
                     self->request(registry, caf::infinite, op)
                         .then([done](domain::reply& r) { done(std::move(r)); },
                               [done](caf::error& e) {
                                 done(domain::fail(domain::errc::internal, caf::to_string(e)));
                               });
                   }});
  }

  /// `call` for the start-up path and tools: waits for the answer.
  template <class Op>
  domain::reply call_and_wait(Op op) const {
    auto promise = std::make_shared<std::promise<domain::reply>>();
    auto answer = promise->get_future();
    call(std::move(op), [promise](domain::reply r) { promise->set_value(std::move(r)); });
    return answer.get();
  }

 private:
  caf::actor bridge_;
  registry_actor registry_;
};

/// The bridge: runs each task it is sent (spawned once per node by the composition root).
inline caf::behavior bridge(caf::event_based_actor* self) {
  return {[self](bridge_task& task) { task(self); }};
}

}  // namespace pikoci::proto

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::proto::bridge_task)
