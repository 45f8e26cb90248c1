// Secret-backed variables as a user runs them (docs/secrets.md): a secret from each secret type
// (a `get` command, the built-in file and vault types, the internal store) reaches a task and
// shows as *** in its log, stored and streamed; a secret that cannot be resolved fails the step
// naming the variable and the type; the internal store's routes never return a value, keep
// values sealed across restarts, and refuse to work without --secret-key.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>

#include "tests/support/http_receiver.hpp"
#include "tests/support/pipeline_fixture.hpp"
#include "tests/support/sse_client.hpp"

using namespace pikoci::test;
using namespace std::chrono_literals;

namespace {

const std::string cmd_value = "cmd-Secret-111";
const std::string file_value = "file-Secret-222";
const std::string vault_value = "vault-Secret-333";
const std::string vault_token = "vault-Token-444";
const std::string env_value = "env-Secret-555";
const std::string store_value = "store-Secret-666";
const std::vector<std::string> all_values{cmd_value,   file_value, vault_value,
                                          vault_token, env_value,  store_value};

std::string every_type_pipeline(const temp_dir& dir, int vault_port) {
  std::string hcl = R"(
secret_type "kv" {
  get "shell" {
    cmd = "echo fetching $param_path; echo '{\"password\":\"CMD\",\"user\":\"u\"}'"
  }
}
secret_type "dotenv" {
  source = "pikoci://file"
  path   = "DIR/app.env"
}
secret_type "vault" {
  source  = "pikoci://vault"
  address = "http://127.0.0.1:PORT"
  token   = var.vault_token
}
variable "vault_token" {
  type = string
  secret "file" {
    path = "DIR/creds.json"
    key  = "vault_token"
  }
}
variable "from_cmd" {
  type = string
  secret "kv" {
    path = "app"
    key  = "password"
  }
}
variable "from_file" {
  type = string
  secret "file" {
    path = "DIR/creds.json"
    key  = "token"
  }
}
variable "from_env" {
  type = string
  secret "dotenv" { key = "API_KEY" }
}
variable "from_vault" {
  type = string
  secret "vault" {
    path = "secret/app"
    key  = "db_pass"
  }
}
variable "from_store" {
  type = string
  secret "pikoci" { key = "STORE_KEY" }
}
job "use" {
  task "show" {
    run "shell" {
      cmd = "echo cmd=${var.from_cmd}; echo file=${var.from_file}; echo env=${var.from_env}; echo vault=${var.from_vault}; echo store=${var.from_store}; printf 'split=cmd-Sec'; sleep 0.5; printf 'ret-111\\n'"
    }
  }
  on_success "shell" {
    cmd = "echo hook=${var.from_store}"
  }
}
)";
  hcl = replace_all(hcl, "CMD", cmd_value);
  hcl = replace_all(hcl, "DIR", dir.path());
  return replace_all(hcl, "PORT", std::to_string(vault_port));
}

void write_secret_files(const temp_dir& dir) {
  dir.write("creds.json", "{\n  \"token\": \"" + file_value + "\",\n  \"vault_token\": \"" +
                              vault_token + "\"\n}\n");
  dir.write("app.env", "# app\nexport API_KEY=\"" + env_value + "\"\nOTHER=x\n");
}

std::string log_events(const std::vector<sse_event>& events) {
  std::string out;
  for (const auto& e : events)
    if (e.type == "log" && e.data.contains("chunk")) out += e.data["chunk"].get<std::string>();
  return out;
}

bool mentions_any(const std::string& text) {
  for (const auto& v : all_values)
    if (text.find(v) != std::string::npos) return true;
  return false;
}

std::string secret_body(const std::string& value) {
  return json{{"value", value}}.dump();
}

}  // namespace

TEST_SUITE("integration.secret_types") {
  TEST_CASE("a secret of each type reaches a task and is *** in its stored and streamed log") {
    temp_dir dir;
    write_secret_files(dir);
    http_receiver vault;
    vault.answer_with(
        json{{"data", {{"data", {{"db_pass", vault_value}}}, {"metadata", json::object()}}}}
            .dump());
    runtime_node node({"--secret-key", "node-key-1", "--cache-root", dir.file("cache")});
    node.set_pipeline("p", every_type_pipeline(dir, vault.port()));
    auto set = node.put("/pipelines/p/secrets/STORE_KEY", secret_body(store_value));
    REQUIRE_MESSAGE(set.status == 200, set.body);
    CHECK_FALSE(mentions_any(set.body));

    auto b = node.trigger("p", "use");
    sse_client live(node.server().url() + "/api/v1/pipelines/p/jobs/use/builds/" +
                        b["number"].get<std::string>() + "/events",
                    node.token());
    auto done = node.wait_build("p", "use", b["number"], 30s);
    CHECK_MESSAGE(done["status"] == "succeeded", done.dump(), node.tail());
    auto logs = step_logs(done, "show");
    CHECK_MESSAGE(logs == "cmd=***\nfile=***\nenv=***\nvault=***\nstore=***\nsplit=***\n", logs);
    CHECK_FALSE(mentions_any(done.dump()));
    CHECK(all_logs(done).find("hook=***\n") != std::string::npos);

    REQUIRE(live.wait_closed(30s));
    auto streamed = log_events(live.events());
    CHECK(streamed.find("cmd=***\n") != std::string::npos);
    CHECK(streamed.find("split=***\n") != std::string::npos);
    CHECK_FALSE(mentions_any(streamed));

    // vault's KV v2 read API, with the token that came from another secret
    auto reqs = vault.requests();
    REQUIRE(reqs.size() == 1);  // one fetch per (type, path) per build
    CHECK(reqs[0].method == "GET");
    CHECK(reqs[0].path == "/v1/secret/data/app");
    CHECK(reqs[0].headers["x-vault-token"] == vault_token);
    // nothing the node printed holds a value
    CHECK_FALSE(mentions_any(node.tail()));
  }

  TEST_CASE("a secret that cannot be resolved fails the step, naming variable and type") {
    temp_dir dir;
    runtime_node node({"--secret-key", "node-key-1", "--cache-root", dir.file("cache")});
    node.set_pipeline("p", replace_all(R"(
secret_type "kv" {
  get "shell" { cmd = "echo '{\"password\":\"kv-Value-777\"}'" }
}
variable "wrong_key" {
  type = string
  secret "kv" {
    path = "app"
    key  = "no_such_key"
  }
}
variable "no_file" {
  type = string
  secret "file" {
    path = "DIR/missing.json"
    key  = "x"
  }
}
job "bad" {
  task "use" {
    run "shell" { cmd = "echo ${var.wrong_key}" }
  }
}
job "nofile" {
  task "use" {
    run "shell" { cmd = "echo ${var.no_file}" }
  }
}
job "notset" {
  task "use" {
    run "shell" { cmd = "echo ${var.unset}" }
  }
}
variable "unset" {
  type = string
  secret "pikoci" { key = "NEVER_SET" }
}
)",
                                       "DIR", dir.path()));
    auto bad = node.wait_build("p", "bad", node.trigger("p", "bad")["number"]);
    CHECK(bad["status"] != "succeeded");
    auto logs = step_logs(bad, "use");
    CHECK_MESSAGE(logs.find("secret variable \"wrong_key\" (secret type \"kv\"): key "
                            "\"no_such_key\" not found in response") != std::string::npos,
                  logs);
    CHECK(bad.dump().find("kv-Value-777") == std::string::npos);

    auto nofile = node.wait_build("p", "nofile", node.trigger("p", "nofile")["number"]);
    CHECK(nofile["status"] != "succeeded");
    CHECK(step_logs(nofile, "use").find("secret variable \"no_file\" (secret type \"file\")") !=
          std::string::npos);

    auto notset = node.wait_build("p", "notset", node.trigger("p", "notset")["number"]);
    CHECK(notset["status"] != "succeeded");
    CHECK(step_logs(notset, "use").find("secret variable \"unset\" (secret type \"pikoci\")") !=
          std::string::npos);
  }

  TEST_CASE("built-in server-sent notifications with a secret-backed param are refused") {
    runtime_node node;
    auto r = node.call("PUT", "/pipelines/p", config_body(R"(
variable "hook" {
  type = string
  secret "file" {
    path = "/etc/hook.json"
    key  = "url"
  }
}
notification "slack" "team" {
  params { webhook_url = var.hook }
}
job "j" {
  task "t" {
    run "shell" { cmd = "true" }
  }
}
)"),
                       node.token());
    CHECK(r.status == 422);
    CHECK_MESSAGE(r.body.find("sent by the server") != std::string::npos, r.body);
  }
}

TEST_SUITE("integration.secret_store") {
  TEST_CASE("routes: roles, names only, pipeline scope shadows the team's, never a value back") {
    temp_dir dir;
    runtime_node node({"--secret-key", "node-key-1", "--cache-root", dir.file("cache")});
    node.set_pipeline("p", R"(
variable "v" {
  type = string
  secret "pikoci" { key = "SHARED" }
}
job "j" {
  task "t" {
    run "shell" { cmd = "[ \"${var.v}\" = pipeline-Value-1 ] && echo shadowed-by-pipeline; echo ${var.v}" }
  }
}
)");
    auto reader = user_token("read");
    auto writer = user_token("write");
    CHECK(node.call("PUT", "/secrets/SHARED", secret_body("team-Value-1"), reader).status == 403);
    CHECK(node.call("PUT", "/secrets/SHARED", secret_body("team-Value-1"), writer).status == 403);
    CHECK(node.call("PUT", "/secrets/SHARED", "", node.token()).status == 400);
    CHECK(node.call("PUT", "/secrets/1bad", secret_body("x"), node.token()).status == 400);
    CHECK(node.call("PUT", "/pipelines/nope/secrets/X", secret_body("x"), node.token()).status ==
          404);
    auto team = node.put("/secrets/SHARED", secret_body("team-Value-1"));
    REQUIRE_MESSAGE(team.status == 200, team.body);
    CHECK(team.json() == json{{"name", "SHARED"}, {"scope", "team"}});
    auto mine = node.put("/pipelines/p/secrets/SHARED", secret_body("pipeline-Value-1"));
    REQUIRE(mine.status == 200);
    CHECK(node.put("/secrets/OTHER", secret_body("other-Value-1")).status == 200);

    auto listed = node.call("GET", "/pipelines/p/secrets", "", reader);
    REQUIRE(listed.status == 200);
    CHECK(listed.json() == json{{"secrets",
                                 {{{"name", "SHARED"}, {"scope", "pipeline"}},
                                  {{"name", "OTHER"}, {"scope", "team"}},
                                  {{"name", "SHARED"}, {"scope", "team"}}}}});
    auto team_list = node.get("/secrets");
    CHECK(team_list.body.find("Value-1") == std::string::npos);
    // the workers' route takes worker tokens only
    CHECK(node.get("/workers/secrets/p/SHARED").status == 403);
    auto as_worker = node.call("GET", "/workers/secrets/p/SHARED", "", worker_token());
    CHECK(as_worker.status == 200);
    CHECK(as_worker.json()["value"] == "pipeline-Value-1");

    auto b = node.wait_build("p", "j", node.trigger("p", "j")["number"]);
    CHECK_MESSAGE(b["status"] == "succeeded", b.dump());
    CHECK(step_logs(b, "t") == "shadowed-by-pipeline\n***\n");

    CHECK(node.del("/pipelines/p/secrets/SHARED").status == 204);
    CHECK(node.del("/pipelines/p/secrets/SHARED").status == 404);
    CHECK(node.call("DELETE", "/secrets/OTHER", "", reader).status == 403);
    auto b2 = node.wait_build("p", "j", node.trigger("p", "j")["number"]);
    CHECK(step_logs(b2, "t") == "***\n");  // the team's value now
  }

  TEST_CASE("sealed at rest with rocksdb, back after a restart; another key cannot read them") {
    temp_dir dir;
    std::vector<std::string> args{"--db-system",  "rocksdb",      "--db-path",
                                  dir.file("db"), "--cache-root", dir.file("cache")};
    auto with_key = [&](const std::string& key) {
      auto a = args;
      a.insert(a.end(), {"--secret-key", key});
      return a;
    };
    const std::string pipeline = R"(
variable "v" {
  type = string
  secret "pikoci" { key = "DB_PASSWORD" }
}
job "j" {
  task "t" {
    # the expected value in two pieces: the pipeline's own text is stored too
    run "shell" { cmd = "[ \"${var.v}\" = rest-Val\"\"ue-9 ] && echo same-value" }
  }
}
)";
    {
      runtime_node node(with_key("key-one"));
      node.set_pipeline("p", pipeline);
      REQUIRE(node.put("/pipelines/p/secrets/DB_PASSWORD", secret_body("rest-Value-9")).status ==
              200);
    }
    // nothing in the store's files holds the value
    for (const auto& f : std::filesystem::recursive_directory_iterator(dir.file("db"))) {
      if (!f.is_regular_file()) continue;
      std::ifstream in(f.path(), std::ios::binary);
      std::string content((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
      CHECK_MESSAGE(content.find("rest-Value-9") == std::string::npos, f.path().string());
    }
    {
      runtime_node node(with_key("key-one"));
      auto listed = node.get("/pipelines/p/secrets");
      CHECK(listed.json()["secrets"][0]["name"] == "DB_PASSWORD");
      auto b = node.wait_build("p", "j", node.trigger("p", "j")["number"]);
      CHECK_MESSAGE(b["status"] == "succeeded", b.dump());
      CHECK(step_logs(b, "t") == "same-value\n");
    }
    {
      runtime_node node(with_key("key-two"));
      auto b = node.wait_build("p", "j", node.trigger("p", "j")["number"]);
      CHECK(b["status"] != "succeeded");
      CHECK(step_logs(b, "t").find("cannot be decrypted") != std::string::npos);
    }
  }

  TEST_CASE("without --secret-key setting a secret is refused with the reason") {
    runtime_node node;
    auto r = node.put("/secrets/X", secret_body("value"));
    CHECK(r.status == 409);
    CHECK(r.body.find("--secret-key") != std::string::npos);
  }

  TEST_CASE("client secrets set (standard input or --value), list and delete; never echoed") {
    temp_dir dir;
    runtime_node node({"--secret-key", "node-key-1", "--cache-root", dir.file("cache")});
    node.set_pipeline(
        "p", "job \"j\" {\n  task \"t\" {\n    run \"shell\" { cmd = \"true\" }\n  }\n}\n");
    auto client = [&](const std::string& tail) {
      return run_command({"/bin/sh", "-c",
                          "'" + node_binary() + "' client --url " + node.server().url() +
                              " --token " + node.token() + " " + tail});
    };
    auto piped = client("secrets set PIPED --pipeline p < " + [&] {
      dir.write("value.txt", "piped-Value-3\n");
      return dir.file("value.txt");
    }());
    CHECK_MESSAGE(piped.exit_code == 0, piped.output);
    CHECK(piped.output.find("piped-Value-3") == std::string::npos);
    auto flag = client("secrets set TEAMWIDE --value flag-Value-4");
    CHECK_MESSAGE(flag.exit_code == 0, flag.output);
    CHECK(flag.output.find("flag-Value-4") == std::string::npos);
    auto list = client("secrets list --pipeline p");
    CHECK(list.exit_code == 0);
    CHECK(list.output.find("PIPED") != std::string::npos);
    CHECK(list.output.find("TEAMWIDE") != std::string::npos);
    CHECK(list.output.find("Value") == std::string::npos);
    CHECK(client("secrets delete PIPED --pipeline p").exit_code == 0);
    CHECK(client("secrets list --pipeline p").output.find("PIPED") == std::string::npos);
    auto as_worker = node.call("GET", "/workers/secrets/p/TEAMWIDE", "", worker_token());
    CHECK(as_worker.json()["value"] == "flag-Value-4");
  }
}
