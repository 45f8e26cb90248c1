#pragma once
// Asks several actors the same question and continues once every one has answered (or failed),
// without blocking the asking actor.

#include <functional>
#include <memory>
#include <optional>
#include <vector>

#include <caf/all.hpp>

namespace pikoci::server {

/// Sends `msg...` to each of `targets`; calls `done` with the replies in the order of `targets`
/// (nullopt where a target failed or is gone). `done` runs in `self`'s context.
template <class Reply, class Self, class Handle, class... Ts>
void gather(Self* self, const std::vector<Handle>& targets,
            std::function<void(std::vector<std::optional<Reply>>)> done, const Ts&... msg) {
  if (targets.empty()) {
    done({});
    return;
  }
  struct pending {
    std::vector<std::optional<Reply>> replies;
    std::size_t left;
    std::function<void(std::vector<std::optional<Reply>>)> done;
  };
  auto st = std::make_shared<pending>(
      pending{std::vector<std::optional<Reply>>(targets.size()), targets.size(), std::move(done)});
  for (std::size_t i = 0; i < targets.size(); ++i) {
    self->request(targets[i], caf::infinite, msg...)
        .then(
            [st, i](Reply& r) {
              st->replies[i] = std::move(r);
              if (--st->left == 0) st->done(std::move(st->replies));
            },
            [st](caf::error&) {
              if (--st->left == 0) st->done(std::move(st->replies));
            });
  }
}

}  // namespace pikoci::server
