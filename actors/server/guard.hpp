#pragma once
// Supervision inside an actor: an exception thrown by one message handler fails that message only.
// CAF 0.17 ends an actor whose handler throws, and a pipeline's actors are linked, so one bad input
// (bytes that are not UTF-8, a malformed record) would otherwise take the whole pipeline down and
// leave every later request answered 500. `guarded_behavior` wraps each handler of a behavior:
// the exception is logged with the actor's name and the message's atom, a request gets an error
// reply (an `internal` domain error, or a CAF error), and the actor keeps serving. What still
// ends an actor (a throw in a continuation) is logged the same way; the registry notices the
// pipeline's death and restarts it from the store (actors/server/registry.cpp).

#include <exception>
#include <string>
#include <type_traits>
#include <utility>

#include <spdlog/spdlog.h>
#include <caf/all.hpp>

#include "actors/protocols/operation.hpp"

namespace pikoci::server {
namespace guard_detail {

inline std::string what_of(std::exception_ptr e) {
  try {
    std::rethrow_exception(std::move(e));
  } catch (const std::exception& x) {
    return x.what();
  } catch (...) {
    return "unknown exception";
  }
}

template <class T>
std::string message_name(const T& x) {
  using U = std::decay_t<T>;
  if constexpr (std::is_convertible_v<U, caf::atom_value>)
    return caf::to_string(static_cast<caf::atom_value>(x));
  else if constexpr (proto::is_operation<U>::value)
    return U::name;
  else
    return "message";
}

inline caf::error internal_error(const std::string& what) {
  return caf::make_error(caf::sec::runtime_error, what);
}

/// What a handler returning R answers: its value, or what it answers when it threw. A plain
/// value goes through caf::expected (caf::result's value constructor brace-initializes, which
/// would turn a JSON document into an array holding it).
template <class R>
struct reply {
  using type = caf::result<R>;
  static type ok(R&& v) { return caf::expected<R>(std::move(v)); }
  static type failed(const std::string& what) { return internal_error(what); }
};
template <class... Ts>
struct reply<caf::result<Ts...>> {
  using type = caf::result<Ts...>;
  static type ok(type&& v) { return std::move(v); }
  static type failed(const std::string& what) { return internal_error(what); }
};
template <>
struct reply<caf::result<domain::reply>> {
  using type = caf::result<domain::reply>;
  static type ok(type&& v) { return std::move(v); }
  static type failed(const std::string& what) { return domain::fail(domain::errc::internal, what); }
};
template <>
struct reply<domain::reply> {
  using type = domain::reply;
  static type ok(type&& v) { return std::move(v); }
  static type failed(const std::string& what) { return domain::fail(domain::errc::internal, what); }
};

template <class R>
using reply_type = typename std::conditional_t<std::is_void_v<R>, std::common_type<void>,
                                               reply<R>>::type;

template <class Who, class F, class Sig>
struct wrap;

template <class Who, class F, class R, class C, class First, class... Ts>
struct wrap<Who, F, R (C::*)(First, Ts...) const> {
  static auto make(Who who, F f) {
    return [who, f](First first, Ts... xs) -> reply_type<R> {
      auto name = message_name(first);
      try {
        if constexpr (std::is_void_v<R>)
          f(std::forward<First>(first), std::forward<Ts>(xs)...);
        else
          return reply<R>::ok(f(std::forward<First>(first), std::forward<Ts>(xs)...));
      } catch (...) {
        auto what = what_of(std::current_exception());
        spdlog::error("event=actor.handler_failed {} message={} error=\"{}\" (this message failed; "
                      "the actor goes on)",
                      who(), name, what);
        if constexpr (!std::is_void_v<R>)
          return reply<R>::failed("internal error handling " + name + ": " + what);
      }
    };
  }
};

}  // namespace guard_detail

/// Wraps one handler (a lambda with typed parameters, an atom or an operation first). `who()` names the actor in
/// the log: "pipeline=p job=j".
template <class Who, class F>
auto guarded(Who who, F f) {
  return guard_detail::wrap<Who, F, decltype(&F::operator())>::make(std::move(who), std::move(f));
}

/// The behavior of `self` with every handler guarded, and the death of `self` (a throw outside a
/// handler) logged with `who()`.
template <class Behavior, class Self, class Who, class... Fs>
Behavior guarded_behavior(Self* self, Who who, Fs... fs) {
  self->set_exception_handler([who](std::exception_ptr& e) -> caf::error {
    auto what = guard_detail::what_of(e);
    spdlog::error("event=actor.failed {} error=\"{}\"", who(), what);
    return caf::make_error(caf::sec::runtime_error, what);
  });
  return Behavior{guarded(who, std::move(fs))...};
}

}  // namespace pikoci::server
