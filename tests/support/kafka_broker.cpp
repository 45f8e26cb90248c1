#include "tests/support/kafka_broker.hpp"

#include <unistd.h>

#include <cstdlib>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "tests/support/process.hpp"

namespace fs = std::filesystem;
using namespace std::chrono_literals;

namespace pikoci::test {
namespace {

std::string script() {
  return source_path("scripts/kafka-broker.sh");
}

std::string read_trimmed(const std::string& path) {
  std::ifstream in(path);
  std::string s;
  std::getline(in, s);
  while (!s.empty() && (s.back() == '\r' || s.back() == ' ')) s.pop_back();
  return s;
}

/// Runs the script; the broker stops by itself if this test process dies without stopping it.
command_result run_script(const std::vector<std::string>& args, std::chrono::milliseconds timeout) {
  std::vector<std::string> cmd{"bash", script()};
  cmd.insert(cmd.end(), args.begin(), args.end());
  return run_command(cmd, timeout, {{"PIKOCI_KAFKA_OWNER_PID", std::to_string(getpid())}});
}

}  // namespace

kafka_broker::kafka_broker() {
  std::string tmpl = "/tmp/pikoci-kafka-XXXXXX";
  if (mkdtemp(tmpl.data()) == nullptr) throw std::runtime_error("kafka_broker: mkdtemp failed");
  dir_ = tmpl;
  try {
    start();
  } catch (...) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    throw;
  }
}

kafka_broker::~kafka_broker() {
  try {
    stop();
  } catch (...) {
  }
  std::error_code ec;
  fs::remove_all(dir_, ec);
}

void kafka_broker::start() {
  if (running_) return;
  std::vector<std::string> args{"start", dir_};
  if (port_ != 0) args.push_back(std::to_string(port_));
  // Generous: the first start of a machine fetches the jars with mvn; the script bounds its own
  // wait for readiness (90 s).
  auto r = run_script(args, 300s);
  std::string bootstrap = read_trimmed(dir_ + "/bootstrap");
  if (r.exit_code != 0 || bootstrap.empty()) {
    run_script({"stop", dir_}, 60s);
    throw std::runtime_error("kafka broker did not start in " + dir_ +
                             " (scripts/kafka-broker.sh " + "exit code " +
                             std::to_string(r.exit_code) + "):\n" + r.output);
  }
  bootstrap_ = bootstrap;
  port_ = std::stoi(read_trimmed(dir_ + "/port"));
  running_ = true;
}

void kafka_broker::stop() {
  if (!running_) return;
  auto r = run_script({"stop", dir_}, 60s);
  if (r.exit_code != 0) {
    throw std::runtime_error("kafka broker in " + dir_ + " did not stop:\n" + r.output);
  }
  running_ = false;
}

void kafka_broker::set_extra_properties(const std::string& text) {
  std::ofstream(dir_ + "/extra.properties") << text;
}

std::string kafka_broker::log_tail(std::size_t lines) const {
  std::ifstream in(dir_ + "/broker.log");
  std::deque<std::string> last;
  std::string line;
  while (std::getline(in, line)) {
    last.push_back(line);
    if (last.size() > lines) last.pop_front();
  }
  std::ostringstream out;
  for (const auto& l : last) out << l << '\n';
  return out.str();
}

kafka_broker& kafka_broker::shared() {
  static std::mutex mu;
  static std::unique_ptr<kafka_broker> broker;  // destroyed (stopped) at exit
  static std::string error;
  std::lock_guard<std::mutex> lock(mu);
  if (broker) return *broker;
  if (!error.empty()) throw std::runtime_error(error);
  try {
    broker = std::make_unique<kafka_broker>();
  } catch (const std::exception& e) {
    error = e.what();
    throw;
  }
  return *broker;
}

}  // namespace pikoci::test
