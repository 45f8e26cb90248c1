#pragma once
// A user-facing operation is one message struct in the protocol header of the actor that owns
// the state it reads or changes (job.hpp, pipeline.hpp, registry.hpp, outbox.hpp). Every one is
// answered with a domain::reply (a JSON view, or a domain error); `answers<Ops...>` is the typed
// actor interface of an actor that takes them, so a missing handler is a compile error.
//
// Each operation struct declares:
//   static constexpr const char* name   — its name in logs ("trigger_job");
//   static constexpr bool writes        — whether it changes stored state (refused with
//                                         store_unavailable while the store takes no writes).

#include <caf/all.hpp>

#include "domain/reply.hpp"

namespace pikoci::proto {

template <class... Ops>
using answers =
    caf::typed_actor<typename caf::replies_to<Ops>::template with<domain::reply>...>;

/// Whether T is an operation struct (has the members above).
template <class T, class = void>
struct is_operation : std::false_type {};
template <class T>
struct is_operation<T, std::void_t<decltype(T::name), decltype(T::writes)>> : std::true_type {};

}  // namespace pikoci::proto

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(pikoci::domain::reply)
