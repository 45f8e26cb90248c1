#pragma once
// The embedded worker: the dispatcher protocol served inside the server process, with
// `--concurrency` build slots. Each build runs in its own build runner (a blocking actor on its
// own thread, where waiting for child processes is allowed); checks likewise, on check slots of
// their own so long builds never hold checks back.

#include "actors/protocols/dispatch.hpp"

namespace pikoci::proto {

using embedded_worker_actor = dispatcher_actor::extend_with<caf::typed_actor<
    // a build runner is done with this build
    caf::reacts_to<build_done_atom, build_key>,
    // a check runner is done
    caf::reacts_to<check_done_atom>>>;

}  // namespace pikoci::proto
