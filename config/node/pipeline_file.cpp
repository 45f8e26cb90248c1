#include "config/node/pipeline_file.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "config/pipeline/json_decode.hpp"

namespace pikoci::node {

std::variant<std::string, file_error> read_file_capped(const std::string& path,
                                                       std::size_t max_bytes) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return file_error{path + ": " + std::strerror(errno)};
  std::string data;
  char buf[65536];
  while (in.read(buf, sizeof buf) || in.gcount() > 0) {
    data.append(buf, static_cast<std::size_t>(in.gcount()));
    if (data.size() > max_bytes)
      return file_error{path + ": file is larger than " + std::to_string(max_bytes) + " bytes"};
  }
  if (in.bad()) return file_error{path + ": read error"};
  return data;
}

std::variant<pipeline::load_result, file_error> load_pipeline_file(
    const std::string& path, const std::vector<std::string>& vars, const std::string& vars_file,
    const pipeline::fetch_fn& fetch) {
  pipeline::load_options opts;
  opts.fetch = fetch;
  opts.offline = !fetch;
  for (const auto& kv : vars) {
    auto eq = kv.find('=');
    if (eq == std::string::npos || eq == 0) return file_error{"--var expects k=v, got " + kv};
    opts.var_strings[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  if (!vars_file.empty()) {
    auto text = read_file_capped(vars_file, max_pipeline_file_bytes);
    if (auto* err = std::get_if<file_error>(&text)) return *err;
    auto j = pipeline::decode_json(std::get<std::string>(text), {max_pipeline_file_bytes});
    if (j.failure == pipeline::json_failure::too_deep)
      return file_error{vars_file + ": " + j.error};
    if (!j || !j.value.is_object())
      return file_error{vars_file + ": expected a JSON object of variable values"};
    opts.vars = std::move(j.value);
  }
  auto source = read_file_capped(path, max_pipeline_file_bytes);
  if (auto* err = std::get_if<file_error>(&source)) return *err;
  return pipeline::load(path, std::move(std::get<std::string>(source)), opts);
}

}  // namespace pikoci::node
