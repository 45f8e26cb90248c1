#pragma once
// The ops a store writer gathers for its next group commit, shared by the store writer and the
// cluster writer: how a failed batch goes back in front of what came since.

#include <vector>

#include "persistence/store.hpp"

namespace pikoci::server {

/// Ops gathered for the next batch, in arrival order, each marked whether a writer waits for it
/// (`write_atom`) or not (`put_atom`).
struct gathered_ops {
  persistence::batch ops;
  std::vector<bool> waited;

  void add(persistence::batch& more, bool is_waited);
  bool empty() const { return ops.empty(); }
  void clear() {
    ops.clear();
    waited.clear();
  }
};

/// After a failed batch: the ops nobody waited for (progress, versions, notifications) go back
/// in front of what came since (`next`), so the store still gets them, in order, once it takes
/// writes again. Ops a writer waited for are dropped: that writer was told (false) and acts on
/// it. Of several plain writes of one key only the last is kept (a long outage must not pile up
/// every version of a build record). `failed_waited` marks the ops of `failed`.
void keep_unwaited(persistence::batch failed, const std::vector<bool>& failed_waited,
                   gathered_ops& next);

}  // namespace pikoci::server
