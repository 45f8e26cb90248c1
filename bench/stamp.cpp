// The probe process of bench-trigger: prints CLOCK_REALTIME in nanoseconds the moment it runs.
// Linked statically so that what it measures is the start of a process, not the dynamic loader.
#include <cstdio>
#include <ctime>

int main() {
  timespec t{};
  clock_gettime(CLOCK_REALTIME, &t);
  std::printf("%lld%09ld\n", static_cast<long long>(t.tv_sec), t.tv_nsec);
  return 0;
}
