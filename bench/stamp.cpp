// The probe process of the benchmarks: prints CLOCK_REALTIME in nanoseconds the moment it runs
// (bench-trigger). `bench-stamp COUNT INTERVAL_MS` prints COUNT such lines instead, each after
// sleeping INTERVAL_MS (bench-sse: log line written → received by a subscriber). Linked
// statically so that what it measures is the start of a process, not the dynamic loader.
#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace {
void stamp() {
  timespec t{};
  clock_gettime(CLOCK_REALTIME, &t);
  std::printf("%lld%09ld\n", static_cast<long long>(t.tv_sec), t.tv_nsec);
  std::fflush(stdout);
}
}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    stamp();
    return 0;
  }
  int count = std::atoi(argv[1]);
  long interval_ms = std::atol(argv[2]);
  timespec gap{interval_ms / 1000, (interval_ms % 1000) * 1000000};
  for (int i = 0; i < count; ++i) {
    nanosleep(&gap, nullptr);
    stamp();
  }
  return 0;
}
