#include "persistence/crash_point.hpp"

#include <csignal>
#include <cstdlib>
#include <stdexcept>
#include <string>

#include <unistd.h>

namespace pikoci::persistence {

void crash_point(std::string_view name) {
  static const std::string armed = [] {
    const char* v = std::getenv("PIKOCI_CRASH_AT");
    return std::string(v ? v : "");
  }();
  if (armed.empty() || armed != name) return;
  ::kill(::getpid(), SIGKILL);
}

void fault_point(std::string_view name) {
  static const std::string armed = [] {
    const char* v = std::getenv("PIKOCI_FAULT_AT");
    return std::string(v ? v : "");
  }();
  if (armed.empty() || armed != name) return;
  throw std::runtime_error("fault point " + std::string(name));
}

}  // namespace pikoci::persistence
