// The documentation as a user reads it: every fenced code block of README.md and docs/*.md that
// is a pipeline or a command must validate or run as written, so the docs cannot drift.
//
// Conventions (also in tests/README.md), read from an HTML comment on the line before a fence:
// - ```hcl blocks are whole pipelines: each is written to a file and must pass
//   `pikoci-node validate --offline` (URL sources are not fetched: the docs' hosts are examples).
//   `<!-- file: NAME -->` writes it as NAME in the doc's directory, so later commands can use it;
//   `<!-- append: NAME -->` continues the example written as NAME: NAME's text and the block are
//   validated together (NAME is left as it was); `<!-- wrap: job -->` marks the body of a job,
//   validated inside `job "example" { ... }`.
// - ```sh, ```bash and ```console blocks run with `bash -e -o pipefail` in a scratch directory
//   per document (with `build/`, `samples/` and `scripts/` of the tree, and `pikoci-node` on
//   PATH) against a node this test starts per document, like `make run`: pipeline `hello` from
//   samples/hello.hcl, state in memory, with a --secret-key. `localhost:8080` becomes the node's
//   address; the environment has PIKOCI_URL, PIKOCI_TOKEN and ADMIN_TOKEN (an admin token), H (its
//   Authorization header), JWT_SECRET, and `curl` fails on an HTTP error status after 3 retries a
//   second apart (a person typing the commands gives a check or a build that long to happen).
//   Blocks of one document share the node and the directory, in order. `<!-- before: COMMANDS -->`
//   runs COMMANDS first in the same script (state an example assumes, e.g. a build to look at).
// - `<!-- not-run: WHY -->` skips a block that cannot run here (a Kafka broker, Docker, a
//   server that runs until stopped, a password typed at a prompt); WHY is required.
// Blocks in other languages (json, python, output without a language) are not checked.
#include <doctest/doctest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <memory>
#include <regex>
#include <set>
#include <sstream>

#include <unistd.h>

#include "tests/support/process.hpp"

using namespace pikoci::test;
namespace fs = std::filesystem;

namespace {

/// One fenced block and the marker on the line before it.
struct code_block {
  std::string file;  // relative to the source tree
  int line = 0;      // of the opening fence
  std::string lang;
  std::string text;
  std::string marker;  // "not-run", "file", "append", "wrap", "before" or empty
  std::string marker_arg;
};

std::vector<std::string> doc_files() {
  std::vector<std::string> out{"README.md"};
  std::vector<std::string> docs;
  for (const auto& e : fs::directory_iterator(source_path("docs")))
    if (e.path().extension() == ".md") docs.push_back("docs/" + e.path().filename().string());
  std::sort(docs.begin(), docs.end());
  out.insert(out.end(), docs.begin(), docs.end());
  return out;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::vector<code_block> blocks_of(const std::string& file) {
  static const std::regex fence(R"(^\s*```\s*([A-Za-z0-9_-]*)\s*$)");
  static const std::regex marker(
      R"(^\s*<!--\s*(not-run|file|append|wrap|before)\s*(:\s*(.*?))?\s*-->\s*$)");
  std::vector<code_block> out;
  std::istringstream in(read_file(source_path(file)));
  std::string line, previous;
  int n = 0;
  code_block* open = nullptr;
  while (std::getline(in, line)) {
    ++n;
    std::smatch m;
    if (open) {
      if (std::regex_match(line, m, fence) && m[1].length() == 0) {
        open = nullptr;
      } else {
        open->text += line + "\n";
      }
    } else if (std::regex_match(line, m, fence)) {
      code_block b;
      b.file = file;
      b.line = n;
      b.lang = m[1];
      std::smatch mm;
      if (std::regex_match(previous, mm, marker)) {
        b.marker = mm[1];
        b.marker_arg = mm[3];
      }
      out.push_back(b);
      open = &out.back();
    }
    previous = line;
  }
  return out;
}

bool is_command(const std::string& lang) {
  return lang == "sh" || lang == "bash" || lang == "console";
}

std::string replace_all(std::string s, const std::string& from, const std::string& to) {
  for (std::size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size()))
    s.replace(at, from.size(), to);
  return s;
}

/// A document's scratch directory, with the parts of the tree its commands name.
std::string scratch_for(const std::string& file) {
  fs::path dir = fs::temp_directory_path() / ("pikoci-docs-" + std::to_string(getpid())) /
                 replace_all(replace_all(file, "/", "_"), ".md", "");
  fs::remove_all(dir);
  fs::create_directories(dir / ".config");
  fs::create_symlink(fs::path(node_binary()).parent_path(), dir / "build");
  for (const char* part : {"samples", "scripts"}) fs::create_symlink(source_path(part), dir / part);
  return dir.string();
}

/// The anchors of a document's headings, as GitHub makes them: lower case, punctuation dropped
/// (`-` and `_` kept), spaces as `-`.
std::set<std::string> anchors_of(const std::string& path) {
  std::set<std::string> out;
  std::istringstream in(read_file(path));
  std::string line;
  bool fenced = false;
  while (std::getline(in, line)) {
    if (line.rfind("```", 0) == 0) fenced = !fenced;
    if (fenced || line.rfind("#", 0) != 0) continue;
    std::size_t i = line.find_first_not_of('#');
    if (i == std::string::npos || line[i] != ' ') continue;
    std::string slug;
    for (char c : line.substr(i + 1)) {
      auto u = static_cast<unsigned char>(c);
      if (std::isalnum(u) || c == '-' || c == '_' || u >= 0x80)
        slug += static_cast<char>(std::tolower(u));
      else if (c == ' ')
        slug += '-';
    }
    out.insert(slug);
  }
  return out;
}

struct counts {
  int validated = 0, ran = 0, not_run = 0, other = 0;
};

class doc_runner {
 public:
  explicit doc_runner(std::string file) : file_(std::move(file)), dir_(scratch_for(file_)) {}

  void check(const code_block& b, counts& c) {
    std::string where = b.file + ":" + std::to_string(b.line);
    if (b.marker == "not-run") {
      CHECK_MESSAGE(!b.marker_arg.empty(), (where + ": not-run needs a reason"));
      ++c.not_run;
      return;
    }
    if (b.lang == "hcl") {
      validate(b, where);
      ++c.validated;
    } else if (is_command(b.lang)) {
      run(b, where);
      ++c.ran;
    } else {
      CHECK_MESSAGE(b.marker.empty(), (where + ": a marker on a block that is not checked"));
      ++c.other;
    }
  }

 private:
  void validate(const code_block& b, const std::string& where) {
    std::string name =
        b.marker == "file" ? b.marker_arg : "block-" + std::to_string(b.line) + ".hcl";
    std::string text = b.text;
    if (b.marker == "wrap") text = "job \"example\" {\n" + b.text + "}\n";
    if (b.marker == "append") {
      CHECK_MESSAGE(fs::exists(dir_ + "/" + b.marker_arg),
                    (where + ": nothing written as " + b.marker_arg));
      text = read_file(dir_ + "/" + b.marker_arg) + "\n" + b.text;
    }
    CHECK_MESSAGE((b.marker != "wrap" || b.marker_arg == "job"), (where + ": only `wrap: job`"));
    std::ofstream(dir_ + "/" + name) << text;
    auto r = run_command({node_binary(), "validate", "--offline", dir_ + "/" + name},
                         std::chrono::seconds(30));
    CHECK_MESSAGE(r.exit_code == 0, (where + ": the pipeline does not validate:\n" + r.output));
  }

  void run(const code_block& b, const std::string& where) {
    if (!node_) {
      node_ = std::make_unique<node_server>(std::vector<std::string>{
          "--pipeline-name", "hello", "--pipeline-config", source_path("samples/hello.hcl"),
          "--secret-key", "docs-test-secret-key"});
    }
    std::string address = "127.0.0.1:" + std::to_string(node_->port());
    std::string script =
        "cd '" + dir_ + "'\n" +
        "curl() { command curl --fail-with-body --max-time 20 --retry 3 --retry-delay 1 "
        "--retry-all-errors \"$@\"; }\n" +
        (b.marker == "before" ? b.marker_arg + "\n" : "") + b.text;
    script = replace_all(replace_all(script, "localhost:8080", address), "127.0.0.1:8080", address);
    std::string token = user_token("admin");
    std::string path = fs::path(node_binary()).parent_path().string() + ":" + getenv("PATH");
    auto r =
        run_command({"bash", "-x", "-e", "-o", "pipefail", "-c", script}, std::chrono::seconds(90),
                    {{"PIKOCI_URL", node_->url()},
                     {"PIKOCI_TOKEN", token},
                     {"ADMIN_TOKEN", token},
                     {"H", "Authorization: Bearer " + token},
                     {"JWT_SECRET", "test-secret"},
                     {"XDG_CONFIG_HOME", dir_ + "/.config"},
                     {"PATH", path}});
    CHECK_MESSAGE(r.exit_code == 0,
                  (where + ": the commands exit " + std::to_string(r.exit_code) + ":\n" + b.text +
                   "--- output:\n" + r.output + "--- node log:\n" + node_->process().tail(20)));
  }

  std::string file_;
  std::string dir_;
  std::unique_ptr<node_server> node_;
};

}  // namespace

TEST_SUITE("integration.docs") {
  TEST_CASE("every pipeline and command block of README and docs/ validates or runs") {
    counts c;
    for (const auto& file : doc_files()) {
      auto blocks = blocks_of(file);
      if (blocks.empty()) continue;
      doc_runner runner(file);
      for (const auto& b : blocks) runner.check(b, c);
    }
    MESSAGE("validated ", c.validated, " pipelines, ran ", c.ran, " command blocks, ", c.not_run,
            " not run (marked), ", c.other, " other blocks");
    CHECK(c.validated > 0);
    CHECK(c.ran > 0);
    fs::remove_all(fs::temp_directory_path() / ("pikoci-docs-" + std::to_string(getpid())));
  }

  TEST_CASE("the docs stand alone: no link leaves the tree, no developer material is named") {
    static const std::regex banned(R"((\.\./shared|/work/|\bSPEC\b|§|\bseeds?\b|\bseeded\b))",
                                   std::regex::icase);
    static const std::regex link(R"(\]\(([^)#\s]*)(#([^)\s]*))?\))");
    for (const auto& file : doc_files()) {
      std::istringstream in(read_file(source_path(file)));
      std::string line;
      int n = 0;
      while (std::getline(in, line)) {
        ++n;
        std::string where = file + ":" + std::to_string(n);
        std::smatch m;
        CHECK_MESSAGE(!std::regex_search(line, m, banned), (where + ": " + line));
        for (auto it = std::sregex_iterator(line.begin(), line.end(), link);
             it != std::sregex_iterator(); ++it) {
          std::string target = (*it)[1];
          std::string anchor = (*it)[3];
          if (target.rfind("http://", 0) == 0 || target.rfind("https://", 0) == 0) continue;
          fs::path resolved = fs::path(source_path(file)).parent_path() / target;
          if (target.empty()) resolved = source_path(file);
          if (!anchor.empty() && resolved.extension() == ".md" && fs::exists(resolved)) {
            auto anchors = anchors_of(resolved.string());
            CHECK_MESSAGE(anchors.count(anchor) == 1,
                          (where + ": no heading for #" + anchor + " in " + resolved.string()));
          }
          CHECK_MESSAGE(fs::exists(resolved), (where + ": a link to a missing file: " + target));
          auto rel =
              fs::relative(fs::weakly_canonical(resolved), fs::weakly_canonical(source_path("")));
          CHECK_MESSAGE(rel.string().rfind("..", 0) != 0, (where + ": a link out of the tree"));
        }
      }
    }
  }
}

namespace {

/// The help of `args` and of every subcommand below it, depth first.
void walk_help(const std::vector<std::string>& args, int depth, std::vector<std::string>& seen) {
  auto with_help = args;
  with_help.push_back("--help");
  auto r = run_command(with_help, std::chrono::seconds(10));
  std::string where;
  for (std::size_t i = 1; i < args.size(); ++i) where += args[i] + " ";
  CHECK_MESSAGE(r.exit_code == 0, (where + "--help exits " + std::to_string(r.exit_code)));
  seen.push_back(where + "--help");
  static const std::regex banned(R"((\bSPEC\b|§|\bseeds?\b|\bissue #?[0-9]+))");
  std::smatch m;
  CHECK_MESSAGE(!std::regex_search(r.output, m, banned), (where + "--help: " + m.str(0)));
  if (depth == 0) return;
  std::istringstream in(r.output);
  std::string line;
  bool subcommands = false;
  static const std::regex sub(R"(^  ([a-z][a-z0-9-]*)\s)");
  while (std::getline(in, line)) {
    if (line.rfind("Subcommands:", 0) == 0 || line.rfind("SUBCOMMANDS:", 0) == 0) {
      subcommands = true;
      continue;
    }
    if (!subcommands || !std::regex_search(line, m, sub)) continue;
    auto next = args;
    next.push_back(m[1]);
    walk_help(next, depth - 1, seen);
  }
}

}  // namespace

TEST_SUITE("integration.docs") {
  TEST_CASE("no help text names developer material") {
    std::vector<std::string> seen;
    walk_help({node_binary()}, 3, seen);
    MESSAGE("read ", seen.size(), " help texts");
    CHECK(seen.size() > 20);
  }
}
