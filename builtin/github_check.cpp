// The `github-check` resource type (push) and notification type (notify): a GitHub App creates a
// check run on a commit when asked for status "in_progress" and completes it when given a
// conclusion. The check run's id is kept in the build's work directory between the two calls.

#include "builtin/github_check.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <unistd.h>

#include <chrono>
#include <fstream>
#include <memory>
#include <set>

#include "builtin/handlers.hpp"
#include "connectors/http_client/http_client.hpp"
#include "connectors/process/process.hpp"

namespace pikoci::builtin {

namespace github {

std::string base64url(const std::string& bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3) + 1, '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(bytes.data()),
                          static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  while (!out.empty() && out.back() == '=') out.pop_back();
  for (auto& c : out) c = c == '+' ? '-' : c == '/' ? '_' : c;
  return out;
}

std::string base64url_decode(const std::string& text) {
  std::string in = text;
  for (auto& c : in) c = c == '-' ? '+' : c == '_' ? '/' : c;
  while (in.size() % 4 != 0) in += '=';
  std::string out(in.size() / 4 * 3 + 1, '\0');
  int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(in.data()),
                          static_cast<int>(in.size()));
  if (n < 0) return {};
  std::size_t pad = 0;
  for (auto it = in.rbegin(); it != in.rend() && *it == '='; ++it) ++pad;
  out.resize(static_cast<std::size_t>(n) - pad);
  return out;
}

std::variant<std::string, jwt_error> app_jwt(const std::string& app_id,
                                             const std::string& private_key_pem,
                                             std::int64_t now_unix) {
  std::string pem = private_key_pem;
  if (pem.find('\n') == std::string::npos)
    for (auto at = pem.find("\\n"); at != std::string::npos; at = pem.find("\\n", at))
      pem.replace(at, 2, "\n");
  std::unique_ptr<BIO, decltype(&BIO_free)> bio(
      BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size())), BIO_free);
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr), EVP_PKEY_free);
  if (!key) return jwt_error{"private_key is not a PEM private key"};
  if (EVP_PKEY_base_id(key.get()) != EVP_PKEY_RSA)
    return jwt_error{"private_key is not an RSA key (GitHub Apps sign with RS256)"};
  // iat a minute early against clock drift; GitHub refuses an exp more than 10 minutes ahead
  nlohmann::json claims = {{"iat", now_unix - 60}, {"exp", now_unix + 540}, {"iss", app_id}};
  std::string input = base64url(R"({"alg":"RS256","typ":"JWT"})") + "." + base64url(claims.dump());
  std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> md(EVP_MD_CTX_new(), EVP_MD_CTX_free);
  std::size_t len = 0;
  if (EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key.get()) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &len, reinterpret_cast<const unsigned char*>(input.data()),
                     input.size()) != 1)
    return jwt_error{"cannot sign with private_key"};
  std::string sig(len, '\0');
  if (EVP_DigestSign(md.get(), reinterpret_cast<unsigned char*>(sig.data()), &len,
                     reinterpret_cast<const unsigned char*>(input.data()), input.size()) != 1)
    return jwt_error{"cannot sign with private_key"};
  sig.resize(len);
  return input + "." + base64url(sig);
}

}  // namespace github

namespace {

namespace fs = std::filesystem;

constexpr std::size_t max_api_answer = 1024 * 1024;
constexpr std::chrono::seconds api_timeout{30};

/// One call to the GitHub API: the JSON answer of an expected status, or an error message.
struct api_answer {
  nlohmann::json body;
  std::string error;
};

api_answer call(const std::string& method, const std::string& url, const std::string& auth,
                const nlohmann::json& body, long expected) {
  std::map<std::string, std::string> headers = {{"Authorization", auth},
                                                {"Accept", "application/vnd.github+json"},
                                                {"X-GitHub-Api-Version", "2022-11-28"},
                                                {"User-Agent", "pikoci-node"}};
  std::string text;
  if (!body.is_null()) {
    headers["Content-Type"] = "application/json";
    text = body.dump();
  }
  auto r = http_client::request(method, url, text, headers, api_timeout, max_api_answer);
  if (!r.error.empty()) return {{}, method + " " + url + ": " + r.error};
  if (r.status != expected) {
    std::string excerpt = r.body.substr(0, 300);
    return {{},
            method + " " + url + ": HTTP status " + std::to_string(r.status) +
                (excerpt.empty() ? "" : ": " + excerpt)};
  }
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return {{}, method + " " + url + ": the answer is not a JSON object"};
  return {std::move(j), {}};
}

/// The commit of the first git checkout (in name order) directly under the work directory: where
/// a get of the repository put it.
std::string head_of_checkout(const fs::path& workdir) {
  std::set<fs::path> dirs;
  std::error_code ec;
  for (const auto& e : fs::directory_iterator(workdir, ec))
    if (e.is_directory(ec) && fs::exists(e.path() / ".git", ec)) dirs.insert(e.path());
  for (const auto& d : dirs) {
    std::string out;
    process::command cmd{"git", {"-C", d.string(), "rev-parse", "HEAD"}, {}, {}};
    for (char** e = ::environ; *e != nullptr; ++e) cmd.env.emplace_back(*e);
    process::options opts;
    opts.deadline = std::chrono::steady_clock::now() + std::chrono::seconds(30);
    auto res = process::run(cmd, opts, [&](std::string_view c) { out.append(c); });
    while (!out.empty() && (out.back() == '\n' || out.back() == '\r')) out.pop_back();
    if (res.succeeded() && out.size() == 40) return out;
  }
  return {};
}

/// GitHub's conclusion for a build status, for automatic notifications (`on`).
std::string conclusion_of(const std::string& build_status) {
  if (build_status == "succeeded") return "success";
  if (build_status == "failed" || build_status == "errored") return "failure";
  if (build_status == "cancelled") return "cancelled";
  return build_status.empty() ? "" : "neutral";
}

/// The file remembering a check run's id: one per check `name` in the build's work directory.
fs::path id_file(const fs::path& workdir, const std::string& name) {
  std::string key = name.empty() ? "github-check" : name;
  for (auto& c : key)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') c = '-';
  return workdir / (".github-check-" + key + ".id");
}

/// Both handlers: `attr("status")` is `put_status` for the resource type, `notify_status` for
/// the notification type.
int check_run(const context& ctx, const std::string& prefix) {
  auto attr = [&](const std::string& k) { return ctx.var(prefix + k); };
  for (const char* p : {"app_id", "installation_id", "private_key", "repository"})
    if (ctx.param(p).empty()) return ctx.fail(std::string("param \"") + p + "\" is required");
  std::string status = attr("status");
  std::string conclusion = attr("conclusion");
  if (status.empty() && conclusion.empty()) conclusion = conclusion_of(attr("build_status"));
  if (status != "in_progress" && conclusion.empty())
    return ctx.fail(
        "set status = \"in_progress\" to create a check run, or a conclusion to "
        "complete it");
  auto trim = [](std::string u) {
    while (!u.empty() && u.back() == '/') u.pop_back();
    return u;
  };
  std::string api =
      trim(ctx.param("api_url").empty() ? "https://api.github.com" : ctx.param("api_url"));
  std::string details = attr("details_url");
  if (details.empty() && !ctx.param("base_url").empty())
    details = trim(ctx.param("base_url")) + "/teams/" + ctx.var("BUILD_TEAM_NAME") + "/pipelines/" +
              ctx.var("BUILD_PIPELINE_NAME") + "/jobs/" + ctx.var("BUILD_JOB_NAME") + "/builds/" +
              ctx.var("BUILD_NUMBER");
  fs::path ids = id_file(ctx.workdir(), attr("name"));

  auto now = std::chrono::duration_cast<std::chrono::seconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  auto jwt = github::app_jwt(ctx.param("app_id"), ctx.param("private_key"), now);
  if (auto* e = std::get_if<github::jwt_error>(&jwt)) return ctx.fail(e->message);
  auto token =
      call("POST", api + "/app/installations/" + ctx.param("installation_id") + "/access_tokens",
           "Bearer " + std::get<std::string>(jwt), nlohmann::json::object(), 201);
  if (!token.error.empty()) return ctx.fail("installation token: " + token.error);
  if (!token.body.contains("token") || !token.body["token"].is_string())
    return ctx.fail("installation token: the answer has no token");
  std::string auth = "token " + token.body["token"].get<std::string>();
  std::string runs = api + "/repos/" + ctx.param("repository") + "/check-runs";

  if (status == "in_progress") {
    std::string sha = attr("head_sha");
    if (sha.empty()) sha = head_of_checkout(ctx.workdir());
    if (sha.empty()) return ctx.fail("no head_sha given and no git checkout in the work directory");
    std::string name = attr("name");
    if (name.empty()) name = ctx.var("BUILD_PIPELINE_NAME") + "/" + ctx.var("BUILD_JOB_NAME");
    nlohmann::json body = {{"name", name}, {"head_sha", sha}, {"status", "in_progress"}};
    if (!details.empty()) body["details_url"] = details;
    auto created = call("POST", runs, auth, body, 201);
    if (!created.error.empty()) return ctx.fail("create check run: " + created.error);
    if (!created.body.contains("id") || !created.body["id"].is_number_integer())
      return ctx.fail("create check run: the answer has no id");
    auto id = std::to_string(created.body["id"].get<std::int64_t>());
    std::ofstream(ids) << id << "\n";
    ctx.out() << "created check run " << id << " \"" << name << "\" on " << sha << "\n";
    return 0;
  }
  std::string id;
  std::ifstream(ids) >> id;
  if (id.empty())
    return ctx.fail("no check run to complete: create one first with status = \"in_progress\"");
  nlohmann::json body = {{"status", "completed"}, {"conclusion", conclusion}};
  if (!details.empty()) body["details_url"] = details;
  auto updated = call("PATCH", runs + "/" + id, auth, body, 200);
  if (!updated.error.empty()) return ctx.fail("complete check run: " + updated.error);
  ctx.out() << "completed check run " << id << ": " << conclusion << "\n";
  return 0;
}

}  // namespace

int github_check_put(const context& ctx) {
  return check_run(ctx, "put_");
}
int github_check_notify(const context& ctx) {
  return check_run(ctx, "notify_");
}

}  // namespace pikoci::builtin
