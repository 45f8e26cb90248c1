// Decoding of the top-level definitions and of jobs into the typed model. The schema tables at
// the top say what each block may contain; check_body() enforces them, the decoders below only
// convert values and check per-attribute rules (durations, slugs, ranges of numbers).

#include <algorithm>
#include <set>

#include "config/pipeline/condition.hpp"
#include "config/pipeline/inputs.hpp"
#include "config/pipeline/load_internal.hpp"
#include "config/pipeline/names.hpp"
#include "config/pipeline/schedule.hpp"

namespace pikoci::pipeline::detail {

namespace {

constexpr std::size_t max_tags = 10;
constexpr duration min_check_interval = std::chrono::seconds(10);

// ---- schema tables

block_spec cmd(const char* type) {
  return {type, {"runner"}, false, true};
}
block_spec hook_block(const char* type) {
  return {type, {"runner"}, true};
}

const std::vector<block_spec>& hook_blocks() {
  static const std::vector<block_spec> v{hook_block("on_success"), hook_block("on_failure"),
                                         hook_block("on_cancel"), hook_block("ensure")};
  return v;
}

std::vector<block_spec> with_hooks(std::vector<block_spec> blocks) {
  blocks.insert(blocks.end(), hook_blocks().begin(), hook_blocks().end());
  return blocks;
}

// Steps allowed in a job plan and in if/else branches.
std::vector<block_spec> plan_blocks() {
  return {{"get", {"type", "name"}},
          {"task", {"name"}},
          {"put", {"type", "name"}},
          {"notify", {"type", "name"}},
          {"service", {"name"}},
          {"in_parallel", {}},
          {"if", {"label"}},
          {"else_if", {"label"}},
          {"else", {}}};
}

const body_schema command_schema{{{"args"}}, {}, true};
const body_schema ready_check_schema{{{"args"}, {"interval"}, {"timeout"}}, {}, true};
const body_schema run_definition_schema{{{"path", true}, {"args"}}, {}};
const body_schema params_schema{{}, {}, true};

const body_schema resource_type_schema{{{"source"}, {"params"}, {"cache"}},
                                       {cmd("check"), cmd("pull"), cmd("push"), cmd("runner")}};
const body_schema resource_schema{{{"check_interval"}, {"tags"}, {"cache"}},
                                  {{"params", {}, false, true}}};
const body_schema runner_type_schema{{{"source"}}, {{"run", {}, false, true}}};
const body_schema secret_type_schema{{{"source"}, {"params"}}, {cmd("get"), cmd("runner")}, true};
const body_schema service_type_schema{
    {{"source"}, {"params"}}, {cmd("start"), cmd("ready_check"), cmd("stop"), cmd("runner")}};
const body_schema notification_type_schema{{{"source"}, {"params"}},
                                           {cmd("notify"), cmd("runner")}};
const body_schema notification_schema{{{"message"}, {"on"}, {"jobs"}, {"exclude"}},
                                      {{"params", {}, false, true}}};

const body_schema job_schema{{{"concurrency"},
                              {"serial_groups"},
                              {"tags"},
                              {"timeout"},
                              {"disable_retry"},
                              {"allow_failure"},
                              {"interruptible"},
                              {"for_each"}},
                             [] {
                               auto b = with_hooks(plan_blocks());
                               b.push_back({"approve", {"label"}, false, true});
                               b.push_back({"input", {"name"}});
                               b.push_back({"on_trigger", {}});
                               b.push_back({"matrix", {}, false, true});
                               return b;
                             }()};
const body_schema get_schema{{{"trigger"}, {"passed"}, {"timeout"}, {"attempts"}}, with_hooks({})};
const body_schema task_schema{{{"timeout"}, {"attempts"}, {"inputs"}, {"outputs"}},
                              with_hooks({{"run", {"runner"}, false, true, true}})};
const body_schema put_schema{{{"timeout"}, {"attempts"}}, with_hooks({}), true};
const body_schema notify_schema{{{"message"}}, {}, true};
const body_schema service_schema{{}, {}, true};
const body_schema in_parallel_schema{
    {{"limit"}, {"fail_fast"}, {"timeout"}, {"attempts"}},
    with_hooks(
        {{"get", {"type", "name"}},
         {"task", {"name"}},
         {"put", {"type", "name"}},
         {"notify", {"type", "name"}},
         {"service", {"name"}, false, false, false, "Services are not allowed inside in_parallel."},
         {"in_parallel", {}, false, false, false, "in_parallel blocks cannot be nested."}})};
// A branch's steps: a job plan's, but services start with the build and are stopped after the
// plan, so one inside a branch could not depend on the condition.
std::vector<block_spec> branch_blocks() {
  auto blocks = plan_blocks();
  for (auto& b : blocks)
    if (std::string(b.type) == "service")
      b.forbidden =
          "Services are not allowed inside if, else_if or else blocks; declare the service at "
          "the top of the job's plan.";
  return blocks;
}

const body_schema if_schema{{{"condition", true}}, branch_blocks()};
const body_schema else_schema{{}, branch_blocks()};

// Conditional steps inside branches, at most this deep: a plan stays well within what the
// worker wire accepts (connectors/kafka/wire.hpp max_depth).
constexpr int max_if_depth = 8;
const body_schema hook_steps_schema{
    {}, {{"put", {"type", "name"}}, {"notify", {"type", "name"}}, {"task", {"name"}}}};
const body_schema approve_schema{{{"approvals"}, {"timeout"}}, {{"notify", {"type", "name"}}}};
const body_schema input_schema{{{"type"}, {"description"}, {"default"}, {"options"}, {"multiple"}},
                               {}};
const body_schema on_trigger_schema{{}, {{"notify", {"type", "name"}}}};

const std::vector<std::string> notify_statuses{"success", "failure", "cancel", "all"};

std::string at(const hcl::range& r) {
  return std::to_string(r.start.line) + ":" + std::to_string(r.start.column);
}

bool is_hook(const std::string& type) {
  return type == "on_success" || type == "on_failure" || type == "on_cancel" || type == "ensure";
}

hook_kind hook_kind_of(const std::string& type) {
  if (type == "on_success") return hook_kind::on_success;
  if (type == "on_failure") return hook_kind::on_failure;
  if (type == "on_cancel") return hook_kind::on_cancel;
  return hook_kind::ensure;
}

// ---- the decoder: one per evaluation context (the pipeline, or one for_each instance)

class decoder {
 public:
  decoder(const hcl::eval_context& ctx, hcl::diagnostics& diags) : r_(ctx, diags) {}

  // Every attribute of `body` not named in `schema` as a string param.
  std::map<std::string, std::string> params(const hcl::body& body, const body_schema& schema) {
    std::map<std::string, std::string> out;
    for (const auto& a : body.attributes) {
      bool known = false;
      for (const auto& s : schema.attributes) known = known || a.name == s.name;
      if (known) continue;
      auto v = r_.value(&a);
      if (!v) continue;
      if (auto s = param_string(*v))
        out[a.name] = *s;
      else
        r_.type_error(a, "string");
    }
    return out;
  }

  runner_command command(const hcl::block& b, const body_schema& schema = command_schema) {
    check_body(*b.content, schema, b.type_rng, r_.diags());
    runner_command c;
    c.runner = b.labels.empty() ? std::string{} : b.labels[0];
    c.rng = b.rng;
    c.runner_rng = b.labels.empty() ? b.type_rng : b.label_rngs[0];
    const auto& body = *b.content;
    c.args = r_.strings(body.find_attribute("args")).value_or(std::vector<std::string>{});
    c.params = params(body, schema);
    if (&schema == &ready_check_schema) {
      c.interval = r_.duration_of(body.find_attribute("interval"));
      c.timeout = r_.duration_of(body.find_attribute("timeout"));
    } else if (const auto* p = body.find_attribute("path")) {
      if (auto s = r_.string(p)) c.params["path"] = *s;
    }
    return c;
  }

  runner_override override_of(const hcl::block& b) {
    auto c = command(b);
    return runner_override{c.runner, c.args, c.params, c.rng, c.runner_rng};
  }

  // Tags and serial groups: slugs, at most `max` (0 = unbounded). Element ranges when the
  // value is a literal list.
  std::vector<std::string> slugs(const hcl::attribute* a, const char* what, std::size_t max) {
    auto list = r_.strings(a);
    if (!list) return {};
    const auto& e = *a->value;
    for (std::size_t i = 0; i < list->size(); ++i) {
      const auto& s = (*list)[i];
      if (is_slug(s)) continue;
      bool literal = e.kind == hcl::expr_kind::tuple && e.items.size() == list->size();
      r_.error(literal ? e.items[i]->rng : e.rng, std::string("Invalid ") + what,
               quote(s) +
                   " is not a valid slug: use only a-z, 0-9, '-' and '_', not starting "
                   "or ending with '-' or '_'.");
    }
    if (max && list->size() > max) {
      r_.error(e.rng, std::string("Too many ") + what + "s",
               "At most " + std::to_string(max) + " " + what + "s are allowed, got " +
                   std::to_string(list->size()) + ".");
    }
    return *list;
  }

  std::optional<int> non_negative(const hcl::attribute* a) {
    auto n = r_.integer(a);
    if (n && *n < 0) {
      r_.error(a->value->rng, "Invalid " + a->name,
               quote(a->name) + " must be >= 0, got " + std::to_string(*n) + ".");
      return std::nullopt;
    }
    return n;
  }

  // ---- definitions

  // `source` and inline commands exclude each other.
  void source_exclusive(const hcl::body& body, const std::vector<const char*>& inline_blocks,
                        const std::string& what) {
    const auto* src = body.find_attribute("source");
    if (!src) return;
    for (const auto& b : body.blocks) {
      for (const char* t : inline_blocks) {
        if (b.type != t) continue;
        r_.error(b.type_rng, "Conflicting definition",
                 what + " sets \"source\" (at " + at(src->name_rng) + ") and an inline " +
                     quote(b.type) + " block; they are mutually exclusive.");
      }
    }
  }

  // A type-level runner override only wraps exec commands.
  void override_runners(const std::optional<runner_override>& ov,
                        const std::vector<const std::optional<runner_command>*>& cmds,
                        const std::string& what) {
    if (!ov) return;
    for (const auto* c : cmds) {
      if (!*c || (*c)->runner == "exec") continue;
      r_.error((*c)->runner_rng, "Invalid runner",
               what +
                   " has a runner override, so its commands must use the \"exec\" runner, "
                   "not " +
                   quote((*c)->runner) + ".");
    }
  }

  /// Where one command block of a type definition goes, and the schema of its body.
  struct command_slot {
    const char* block;
    std::optional<runner_command>* target;
    const body_schema* schema = &command_schema;
  };

  // The command blocks of a type definition (any other block its schema allows is the type's
  // `runner` override), then the checks that tie them to `source` and to the override.
  template <class T>
  void type_commands(const hcl::body& body, const std::vector<const hcl::block*>& blocks, T& t,
                     const std::string& what, const std::vector<command_slot>& slots) {
    for (const auto* c : blocks) {
      auto slot = std::find_if(slots.begin(), slots.end(),
                               [&](const command_slot& s) { return c->type == s.block; });
      if (slot != slots.end())
        *slot->target = command(*c, *slot->schema);
      else
        t.runner = override_of(*c);
    }
    std::vector<const char*> names;
    std::vector<const std::optional<runner_command>*> targets;
    for (const auto& s : slots) {
      names.push_back(s.block);
      targets.push_back(s.target);
    }
    source_exclusive(body, names, what);
    override_runners(t.runner, targets, what);
  }

  template <class T>
  void common_type(const hcl::block& b, T& t) {
    t.name = b.labels[0];
    t.rng = b.rng;
    t.name_rng = b.label_rngs[0];
    if (const auto* s = b.content->find_attribute("source")) {
      t.source = r_.string(s);
      t.source_rng = s->value->rng;
    }
  }

  // The head of a type that takes `params`: name, source, the body checked against `schema`
  // (its blocks returned) and the parameter names.
  template <class T>
  std::vector<const hcl::block*> type_head(const hcl::block& b, T& t, const body_schema& schema) {
    common_type(b, t);
    const auto& body = *b.content;
    auto blocks = check_body(body, schema, b.type_rng, r_.diags());
    t.params = r_.strings(body.find_attribute("params")).value_or(std::vector<std::string>{});
    return blocks;
  }

  // `<kind> "<type>" "<name>"` blocks known as `type.name` (resources, notifications).
  template <class T>
  void two_label_head(const hcl::block& b, T& t) {
    t.type = b.labels[0];
    t.name = b.labels[1];
    t.canonical = t.type + "." + t.name;
    t.rng = b.rng;
    t.type_rng = b.label_rngs[0];
    t.name_rng = b.label_rngs[1];
  }

  // A body whose one kind of block is `params { ... }`, checked against `schema`: its params.
  std::map<std::string, std::string> params_block(const hcl::body& body, const body_schema& schema,
                                                  const hcl::range& type_rng) {
    std::map<std::string, std::string> out;
    for (const auto* p : check_body(body, schema, type_rng, r_.diags())) {
      check_body(*p->content, params_schema, p->type_rng, r_.diags());
      out = params(*p->content, params_schema);
    }
    return out;
  }

  resource_type decode_resource_type(const hcl::block& b) {
    resource_type t;
    common_type(b, t);
    // Resource types name the first half of resource canonicals (`<type>.<name>`).
    if (!is_valid_block_name(t.name)) {
      r_.error(b.label_rngs[0], "Invalid resource type name",
               quote(t.name) + " is not a valid resource type name: " + block_name_rule + ".");
    }
    const auto& body = *b.content;
    auto blocks = check_body(body, resource_type_schema, b.type_rng, r_.diags());
    t.params = r_.strings(body.find_attribute("params")).value_or(std::vector<std::string>{});
    t.cache = r_.boolean(body.find_attribute("cache")).value_or(false);
    type_commands(body, blocks, t, "resource_type " + quote(t.name),
                  {{"check", &t.check}, {"pull", &t.pull}, {"push", &t.push}});
    return t;
  }

  resource decode_resource(const hcl::block& b) {
    resource res;
    two_label_head(b, res);
    // The canonical is `<type>.<name>`: the type is an identifier, the name a name.
    if (!is_valid_block_name(b.labels[0]))
      r_.error(b.label_rngs[0], "Invalid resource type name",
               quote(b.labels[0]) + " is not a valid resource type name: " + block_name_rule + ".");
    if (!is_valid_name(b.labels[1]))
      r_.error(b.label_rngs[1], "Invalid resource name",
               quote(b.labels[1]) + " is not a valid resource name: " + name_rule + ".");
    const auto& body = *b.content;
    res.params = params_block(body, resource_schema, b.type_rng);
    res.tags = slugs(body.find_attribute("tags"), "tag", max_tags);
    res.cache = r_.boolean(body.find_attribute("cache"));
    const auto* ci = body.find_attribute("check_interval");
    if (auto s = r_.string(ci); s && !s->empty()) res.check_interval = *s;
    std::string err;
    auto sched = schedule::parse(res.check_interval, err);
    if (!sched) {
      r_.error(ci ? ci->value->rng : b.type_rng, "Invalid check_interval",
               quote(res.check_interval) + ": " + err);
    } else {
      res.check_every = sched->min_interval();
      if (res.check_every < min_check_interval) {
        r_.error(ci ? ci->value->rng : b.type_rng, "Invalid check_interval",
                 quote(res.check_interval) + " is shorter than the minimum of 10s.");
      }
    }
    return res;
  }

  runner_type decode_runner_type(const hcl::block& b) {
    runner_type t;
    common_type(b, t);
    for (const auto* c : check_body(*b.content, runner_type_schema, b.type_rng, r_.diags()))
      t.run = command(*c, run_definition_schema);
    source_exclusive(*b.content, {"run"}, "runner_type " + quote(t.name));
    return t;
  }

  secret_type decode_secret_type(const hcl::block& b) {
    secret_type t;
    auto blocks = type_head(b, t, secret_type_schema);
    const auto& body = *b.content;
    t.config = params(body, secret_type_schema);
    type_commands(body, blocks, t, "secret_type " + quote(t.name), {{"get", &t.get}});
    return t;
  }

  service_type decode_service_type(const hcl::block& b) {
    service_type t;
    auto blocks = type_head(b, t, service_type_schema);
    const auto& body = *b.content;
    std::string what = "service_type " + quote(t.name);
    type_commands(body, blocks, t, what,
                  {{"start", &t.start},
                   {"ready_check", &t.ready_check, &ready_check_schema},
                   {"stop", &t.stop}});
    if (!body.find_attribute("source")) {
      using entry = std::pair<const char*, const std::optional<runner_command>*>;
      for (const auto& [name, c] : {entry{"start", &t.start}, entry{"stop", &t.stop}}) {
        if (*c) continue;
        r_.error(t.name_rng, std::string("Missing ") + name + " block",
                 what + " needs a " + quote(name) + " block (or a \"source\").");
      }
    }
    return t;
  }

  notification_type decode_notification_type(const hcl::block& b) {
    notification_type t;
    auto blocks = type_head(b, t, notification_type_schema);
    const auto& body = *b.content;
    type_commands(body, blocks, t, "notification_type " + quote(t.name), {{"notify", &t.notify}});
    return t;
  }

  notification decode_notification(const hcl::block& b) {
    notification n;
    two_label_head(b, n);
    const auto& body = *b.content;
    n.params = params_block(body, notification_schema, b.type_rng);
    n.message = r_.string(body.find_attribute("message"));
    const auto* on = body.find_attribute("on");
    const auto* jobs = body.find_attribute("jobs");
    const auto* exclude = body.find_attribute("exclude");
    n.on = r_.strings(on).value_or(std::vector<std::string>{});
    n.jobs = r_.strings(jobs).value_or(std::vector<std::string>{});
    n.exclude = r_.strings(exclude).value_or(std::vector<std::string>{});
    if (on) n.on_rng = on->value->rng;
    if (jobs) n.jobs_rng = jobs->value->rng;
    if (exclude) n.exclude_rng = exclude->value->rng;
    for (const auto& s : n.on) {
      if (std::find(notify_statuses.begin(), notify_statuses.end(), s) != notify_statuses.end())
        continue;
      auto hint = suggest(s, notify_statuses);
      r_.error(n.on_rng, "Invalid notification status",
               quote(s) + " is not one of success, failure, cancel or all." +
                   (hint ? " Did you mean " + quote(*hint) + "?" : std::string{}));
    }
    if (n.on.size() > 1 && std::find(n.on.begin(), n.on.end(), "all") != n.on.end()) {
      r_.error(n.on_rng, "Invalid notification status",
               "\"all\" cannot be combined with other statuses.");
    }
    if (jobs && exclude) {
      r_.error(exclude->name_rng, "Conflicting arguments",
               "\"jobs\" and \"exclude\" are mutually exclusive.");
    }
    for (const auto* a : {jobs, exclude}) {
      if (a && !on) {
        r_.error(a->name_rng, "Missing on",
                 quote(a->name) +
                     " requires \"on\": without it the notification only fires "
                     "manually.");
      }
    }
    return n;
  }

  // ---- jobs

  hook decode_hook(const hcl::block& b) {
    hook h;
    h.kind = hook_kind_of(b.type);
    h.rng = b.rng;
    if (!b.labels.empty()) {
      h.command = command(b);
    } else {
      auto blocks = check_body(*b.content, hook_steps_schema, b.type_rng, r_.diags());
      steps_from(blocks, h.steps, nullptr);
    }
    return h;
  }

  // Plan steps (and hooks when `hooks` is given) of the accepted blocks, in order; `if`,
  // `else_if` and `else` fold into one if-chain step.
  void steps_from(const std::vector<const hcl::block*>& blocks, std::vector<step>& out,
                  std::vector<hook>* hooks) {
    bool chain_open = false;  // the previous step is an if chain that may still grow
    for (const auto* b : blocks) {
      const auto& t = b->type;
      if (is_hook(t)) {
        if (hooks) hooks->push_back(decode_hook(*b));
        continue;
      }
      if (t == "else_if" || t == "else") {
        if (!chain_open) {
          r_.error(b->type_rng, "Unexpected " + t + " block",
                   "An " + quote(t) + " block must follow an \"if\" or \"else_if\" block.");
          continue;
        }
        out.back().branches.push_back(decode_branch(*b));
        chain_open = t == "else_if";
        continue;
      }
      std::optional<step> s = decode_step(*b);
      if (!s) continue;
      chain_open = s->kind == step_kind::if_chain;
      out.push_back(std::move(*s));
    }
  }

  branch decode_branch(const hcl::block& b) {
    branch br;
    br.k = b.type == "if"        ? branch::kind::if_
           : b.type == "else_if" ? branch::kind::else_if
                                 : branch::kind::else_;
    br.label = b.labels.empty() ? std::string{} : b.labels[0];
    br.rng = b.rng;
    if (if_depth_ >= max_if_depth) {
      r_.error(b.type_rng, "Conditional steps nested too deeply",
               "if blocks may be nested at most " + std::to_string(max_if_depth) + " deep.");
      return br;
    }
    const auto& schema = br.k == branch::kind::else_ ? else_schema : if_schema;
    auto blocks = check_body(*b.content, schema, b.type_rng, r_.diags());
    if (const auto* c = b.content->find_attribute("condition")) {
      br.condition_rng = c->value->rng;
      br.condition = r_.string(c).value_or("");
      std::string err;
      if (!condition::parse(br.condition, err)) {
        r_.error(br.condition_rng, "Invalid condition", quote(br.condition) + ": " + err);
      }
    }
    ++if_depth_;
    steps_from(blocks, br.steps, nullptr);
    --if_depth_;
    return br;
  }

  std::optional<step> decode_step(const hcl::block& b) {
    step s;
    s.rng = b.rng;
    s.name_rng = b.labels.empty() ? b.type_rng : b.label_rngs.back();
    s.type_rng = b.labels.empty() ? b.type_rng : b.label_rngs.front();
    const auto& body = *b.content;
    const auto& t = b.type;
    if (t == "get" || t == "put" || t == "notify") {
      s.type = b.labels[0];
      s.name = b.labels[1];
      s.canonical = s.type + "." + s.name;
    } else if (!b.labels.empty()) {
      s.name = b.labels[0];
    } else {
      s.name = t;
    }
    std::vector<const hcl::block*> blocks;
    if (t == "get") {
      s.kind = step_kind::get;
      blocks = check_body(body, get_schema, b.type_rng, r_.diags());
      s.trigger = r_.boolean(body.find_attribute("trigger")).value_or(false);
      const auto* passed = body.find_attribute("passed");
      s.passed = r_.strings(passed).value_or(std::vector<std::string>{});
      if (passed) s.passed_rng = passed->value->rng;
    } else if (t == "task") {
      s.kind = step_kind::task;
      blocks = check_body(body, task_schema, b.type_rng, r_.diags());
      s.inputs = r_.strings(body.find_attribute("inputs")).value_or(std::vector<std::string>{});
      s.outputs = r_.strings(body.find_attribute("outputs")).value_or(std::vector<std::string>{});
      for (const auto* c : blocks)
        if (c->type == "run") s.run = command(*c);
    } else if (t == "put") {
      s.kind = step_kind::put;
      blocks = check_body(body, put_schema, b.type_rng, r_.diags());
      s.params = params(body, put_schema);
    } else if (t == "notify") {
      s.kind = step_kind::notify;
      check_body(body, notify_schema, b.type_rng, r_.diags());
      s.message = r_.string(body.find_attribute("message"));
      s.params = params(body, notify_schema);
    } else if (t == "service") {
      s.kind = step_kind::service;
      check_body(body, service_schema, b.type_rng, r_.diags());
      s.params = params(body, service_schema);
    } else if (t == "in_parallel") {
      s.kind = step_kind::in_parallel;
      blocks = check_body(body, in_parallel_schema, b.type_rng, r_.diags());
      s.limit = non_negative(body.find_attribute("limit")).value_or(0);
      s.fail_fast = r_.boolean(body.find_attribute("fail_fast")).value_or(false);
      steps_from(blocks, s.steps, nullptr);
    } else if (t == "if") {
      s.kind = step_kind::if_chain;
      s.branches.push_back(decode_branch(b));
      return s;
    } else {
      return std::nullopt;  // job-level blocks (approve, input, ...) are not steps
    }
    if (t == "get" || t == "task" || t == "put" || t == "in_parallel") {
      s.timeout = r_.duration_of(body.find_attribute("timeout"));
      s.attempts = non_negative(body.find_attribute("attempts"));
      for (const auto* h : blocks)
        if (is_hook(h->type)) s.hooks.push_back(decode_hook(*h));
    }
    return s;
  }

  std::vector<step> notify_steps(const std::vector<const hcl::block*>& blocks) {
    std::vector<step> out;
    steps_from(blocks, out, nullptr);
    return out;
  }

  job_input decode_input(const hcl::block& b) {
    job_input in;
    in.name = b.labels[0];
    in.rng = b.rng;
    in.name_rng = b.label_rngs[0];
    const auto& body = *b.content;
    check_body(body, input_schema, b.type_rng, r_.diags());
    if (const auto* t = body.find_attribute("type")) {
      auto name = hcl::bare_name(*t->value);
      if (!name) name = r_.string(t);
      if (name == "number")
        in.type = value_type::number;
      else if (name == "bool")
        in.type = value_type::boolean;
      else if (name != "string")
        r_.error(t->value->rng, "Invalid input type",
                 "The type must be one of string, number or bool.");
    }
    in.description = r_.string(body.find_attribute("description"));
    in.default_value = r_.value(body.find_attribute("default"));
    if (auto opts = r_.value(body.find_attribute("options"))) {
      if (opts->is_sequence())
        in.options = opts->items();
      else
        r_.type_error(*body.find_attribute("options"), "list");
    }
    in.multiple = r_.boolean(body.find_attribute("multiple")).value_or(false);
    if (const auto* d = body.find_attribute("default")) input_default(in, d->value->rng);
    return in;
  }

  /// A declared default must be a value a trigger could give (the same rules), a list only
  /// with `multiple`.
  void input_default(const job_input& in, const hcl::range& rng) {
    if (!in.default_value) return;
    const auto& d = *in.default_value;
    if (d.is_collection() || d.is_null() || (d.is_sequence() && !in.multiple)) {
      r_.error(rng, "Invalid input default",
               "input " + quote(in.name) + ": the default must be a single value" +
                   (in.multiple ? " or a list" : ""));
      return;
    }
    std::string value;
    auto error = check_input(in, default_text(in), value);
    if (!error.empty()) r_.error(rng, "Invalid input default", error);
  }

  job decode_job(const hcl::block& b, const job_instance& inst) {
    job j;
    j.name = inst.name;
    j.rng = b.rng;
    j.name_rng = b.label_rngs[0];
    if (inst.expanded) {
      j.group = b.labels[0];
      j.each_key = inst.key;
      j.each_value = inst.value;
    }
    const auto& body = *b.content;
    auto blocks = check_body(body, job_schema, b.type_rng, r_.diags());
    j.concurrency = non_negative(body.find_attribute("concurrency")).value_or(0);
    j.serial_groups = slugs(body.find_attribute("serial_groups"), "serial group", 0);
    j.tags = slugs(body.find_attribute("tags"), "tag", max_tags);
    j.timeout = r_.duration_of(body.find_attribute("timeout"));
    j.disable_retry = r_.boolean(body.find_attribute("disable_retry")).value_or(false);
    j.allow_failure = r_.boolean(body.find_attribute("allow_failure")).value_or(false);
    j.interruptible = r_.boolean(body.find_attribute("interruptible")).value_or(false);
    steps_from(blocks, j.plan, &j.hooks);
    std::map<std::string, hcl::range> input_names;
    for (const auto* c : blocks) {
      const auto& body_c = *c->content;
      if (c->type == "approve") {
        approval a;
        a.label = c->labels[0];
        a.rng = c->rng;
        auto inner = check_body(body_c, approve_schema, c->type_rng, r_.diags());
        a.approvals = r_.integer(body_c.find_attribute("approvals")).value_or(1);
        if (a.approvals < 1) {
          r_.error(body_c.find_attribute("approvals")->value->rng, "Invalid approvals",
                   "\"approvals\" must be >= 1, got " + std::to_string(a.approvals) + ".");
        }
        a.timeout = r_.duration_of(body_c.find_attribute("timeout"));
        a.notify = notify_steps(inner);
        j.approve = std::move(a);
      } else if (c->type == "input") {
        auto in = decode_input(*c);
        auto [it, fresh] = input_names.emplace(in.name, in.name_rng);
        if (!fresh) {
          r_.error(in.name_rng, "Duplicate input",
                   "An input named " + quote(in.name) + " was already declared at " +
                       at(it->second) + ".");
        }
        j.inputs.push_back(std::move(in));
      } else if (c->type == "on_trigger") {
        auto inner = check_body(body_c, on_trigger_schema, c->type_rng, r_.diags());
        for (auto& s : notify_steps(inner)) j.on_trigger.push_back(std::move(s));
      }
    }
    return j;
  }

 private:
  reader r_;
  int if_depth_ = 0;  // branches being decoded around the current block
};

}  // namespace

const body_schema& root_schema() {
  static const body_schema s{{},
                             {{"variable", {"name"}},
                              {"resource_type", {"name"}},
                              {"resource", {"type", "name"}},
                              {"runner_type", {"name"}},
                              {"secret_type", {"name"}},
                              {"service_type", {"name"}},
                              {"notification_type", {"name"}},
                              {"notification", {"type", "name"}},
                              {"job", {"name"}}}};
  return s;
}

job decode_job(const hcl::block& block, const job_instance& inst, const hcl::eval_context& ctx,
               hcl::diagnostics& diags) {
  decoder d(ctx, diags);
  return d.decode_job(block, inst);
}

/// Step blocks anywhere in a job body (plans, branches, in_parallel, hooks), counted before
/// decoding so that a job with a million steps costs nothing to refuse.
std::size_t count_steps(const hcl::body& body) {
  static const std::set<std::string> kinds{"get",     "task",        "put", "notify", "service",
                                           "in_parallel", "if", "else_if", "else"};
  std::size_t n = 0;
  for (const auto& b : body.blocks) n += (kinds.count(b.type) ? 1 : 0) + count_steps(*b.content);
  return n;
}

/// "Too many <what>: a pipeline may have at most N <what>."
void too_many(reader& r, const hcl::range& where, const std::string& what, std::size_t max,
              const std::string& extra = {}) {
  r.error(where, "Too many " + what,
          "A pipeline may have at most " + std::to_string(max) + " " + what + extra + ".");
}

void decode_definitions(const std::vector<const hcl::block*>& blocks, pipeline_config& cfg,
                        const load_limits& limits, hcl::diagnostics& diags) {
  hcl::eval_context ctx;
  ctx.variables["var"] = cfg.vars;
  decoder d(ctx, diags);
  reader r(ctx, diags);
  hcl::budget* budget = hcl::budget::current();
  bool jobs_full = false;
  std::size_t resource_types = 0, resources = 0;
  for (const auto* b : blocks) {
    if (budget != nullptr && !budget->check_time(b->type_rng)) return;
    const auto& t = b->type;
    // Blocks past a count limit are reported once and not decoded.
    if (t == "resource_type" && ++resource_types > limits.max_resource_types) {
      if (resource_types == limits.max_resource_types + 1)
        too_many(r, b->type_rng, "resource types", limits.max_resource_types);
      continue;
    }
    if (t == "resource" && ++resources > limits.max_resources) {
      if (resources == limits.max_resources + 1)
        too_many(r, b->type_rng, "resources", limits.max_resources);
      continue;
    }
    if (t == "resource_type")
      cfg.resource_types.push_back(d.decode_resource_type(*b));
    else if (t == "resource")
      cfg.resources.push_back(d.decode_resource(*b));
    else if (t == "runner_type")
      cfg.runner_types.push_back(d.decode_runner_type(*b));
    else if (t == "secret_type")
      cfg.secret_types.push_back(d.decode_secret_type(*b));
    else if (t == "service_type")
      cfg.service_types.push_back(d.decode_service_type(*b));
    else if (t == "notification_type")
      cfg.notification_types.push_back(d.decode_notification_type(*b));
    else if (t == "notification")
      cfg.notifications.push_back(d.decode_notification(*b));
    if (t != "job" || jobs_full) continue;
    // Job names are API route parameters (reference §1.1).
    if (!is_valid_name(b->labels[0])) {
      r.error(b->label_rngs[0], "Invalid job name",
              quote(b->labels[0]) + " is not a valid job name: " + name_rule + ".");
    }
    // A group exists even when it expands to nothing, so `passed` may still name it.
    if (b->content->find_attribute("for_each") || [&] {
          for (const auto& c : b->content->blocks)
            if (c.type == "matrix") return true;
          return false;
        }())
      cfg.job_groups[b->labels[0]];
    if (std::size_t steps = count_steps(*b->content); steps > limits.max_steps_per_job) {
      r.error(b->label_rngs[0], "Too many steps",
              "A job may have at most " + std::to_string(limits.max_steps_per_job) +
                  " steps (nested ones included); this one has " + std::to_string(steps) + ".");
      continue;
    }
    auto instances = expand_job(*b, r, limits.max_for_each);
    if (cfg.jobs.size() + instances.size() > limits.max_jobs) {
      too_many(r, b->label_rngs[0], "jobs", limits.max_jobs,
               " (for_each and matrix instances included)");
      jobs_full = true;
      continue;
    }
    for (const auto& inst : instances) {
      if (budget != nullptr && !budget->check_time(b->label_rngs[0])) return;
      if (!inst.expanded) {
        cfg.jobs.push_back(decode_job(*b, inst, ctx, diags));
        continue;
      }
      hcl::eval_context each_ctx;
      each_ctx.parent = &ctx;
      each_ctx.variables["each"] =
          hcl::value::object({{"key", hcl::value::string(inst.key)}, {"value", inst.value}});
      cfg.jobs.push_back(decode_job(*b, inst, each_ctx, diags));
      cfg.job_groups[b->labels[0]].push_back(inst.name);
    }
  }
}

}  // namespace pikoci::pipeline::detail
