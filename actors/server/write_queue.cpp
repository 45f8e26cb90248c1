#include "actors/server/write_queue.hpp"

#include <iterator>
#include <set>
#include <string>

namespace pikoci::server {

void gathered_ops::add(persistence::batch& more, bool is_waited) {
  for (auto& op : more) {
    ops.push_back(std::move(op));
    waited.push_back(is_waited);
  }
}

void keep_unwaited(persistence::batch failed, const std::vector<bool>& failed_waited,
                   gathered_ops& next) {
  gathered_ops kept;
  for (std::size_t i = 0; i < failed.size(); ++i)
    if (i >= failed_waited.size() || !failed_waited[i]) kept.ops.push_back(std::move(failed[i]));
  kept.waited.assign(kept.ops.size(), false);
  kept.ops.insert(kept.ops.end(), std::make_move_iterator(next.ops.begin()),
                  std::make_move_iterator(next.ops.end()));
  kept.waited.insert(kept.waited.end(), next.waited.begin(), next.waited.end());
  // coalescing, newest first, up to the first prefix delete (it orders what comes before it);
  // only behind a later op nobody waits for, which cannot be dropped in turn
  std::set<std::string> later;
  std::vector<bool> drop(kept.ops.size(), false);
  for (std::size_t i = kept.ops.size(); i-- > 0;) {
    if (kept.ops[i].whole_prefix) break;
    if (!kept.waited[i] && !later.insert(kept.ops[i].key).second) drop[i] = true;
  }
  next.clear();
  for (std::size_t i = 0; i < kept.ops.size(); ++i) {
    if (drop[i]) continue;
    next.ops.push_back(std::move(kept.ops[i]));
    next.waited.push_back(kept.waited[i]);
  }
}

}  // namespace pikoci::server
