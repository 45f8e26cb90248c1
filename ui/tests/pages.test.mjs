// The resource, queue, workers and set-pipeline pages in Chromium against a real node: what a user
// does on each, what they see, a screenshot (desktop and phone), axe, and the keyboard.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { accessibilityProblems, adminPassword, eventually, login, openBrowser, screenshot,
  startNode, tempFile } from "./harness.mjs";

const P = "my pipeline";
const pipeline = `
resource "cron" "tick" {
  check_interval = "@every 1h"
}

job "slow" {
  get "cron" "tick" {}
  task "wait" {
    run "shell" {
      cmd = "echo waiting; sleep 30"
    }
  }
}

job "quick" {
  get "cron" "tick" {}
  task "hello" {
    run "shell" {
      cmd = "echo hello"
    }
  }
}
`;
const R = "résource pipeline";
const resources = `
resource "cron" "tick" {
  check_interval = "@every 1h"
}

resource "git" "broken" {
  params {
    url    = "file:///nonexistent/repository"
    branch = "main"
  }
}

resource "cron" "many" {
  check_interval = "@every 24h"
}

job "use" {
  get "cron" "tick" {}
  task "hello" {
    run "shell" {
      cmd = "echo hello"
    }
  }
}
`;
const enc = encodeURIComponent;
const resourcePath = (r) => `/api/v1/pipelines/${enc(R)}/resources/${r}`;

let node, browser;
before(async () => {
  node = await startNode(["--max-in-flight", "1"]);
  await node.setPipeline(P, pipeline);
  await node.setPipeline(R, resources);
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
  await node?.stop();
});

/** Presses Tab until the focused element is the control named `name` (bounded). */
async function tabTo(page, name, max = 60) {
  for (let i = 0; i < max; i++) {
    await page.keyboard.press("Tab");
    const focused = await page.evaluate(() => {
      const el = document.activeElement;
      return el ? (el.getAttribute("aria-label") || el.textContent || "").trim() : "";
    });
    if (focused === name) return;
  }
  throw new Error(`Tab never reached "${name}"`);
}

/** The page's console errors and exceptions, less the signed-out start (GET /session: 401) and
 *  answers the test expects (`allowed` statuses). */
function problems(page, allowed = []) {
  const ok = new RegExp(`status of (${["401", ...allowed].join("|")})`);
  return page.problems.filter((p) => !ok.test(p));
}

async function checkPage(page, name) {
  await screenshot(page, name);
  const from = page.problems.length;
  assert.deepEqual(await accessibilityProblems(page), [], `axe on ${name}`);
  // the CSP refusing axe's own inline script (the harness then evaluates it) is not the page's
  const added = page.problems.splice(from);
  page.problems.push(...added.filter((p) => !/Executing inline script violates/.test(p)));
}

describe("pages", () => {
  test("resource page: versions, check now, pin and unpin, trigger with a version, webhook URL, check error", async () => {
    const page = await browser.page();
    page.on("dialog", (d) => d.accept());
    const versionsNow = async () => (await node.api("GET", resourcePath("cron.tick") + "/versions")).versions;
    await eventually(async () => (await versionsNow()).length >= 1, 10000, "a first version");
    await login(page, node, "admin", adminPassword, `/pipelines/${enc(R)}/resources/cron.tick`);
    await page.locator("[data-page=resource][aria-busy=false]").waitFor();
    assert.equal(await page.locator("h1").textContent(), "cron.tick");
    const rows = page.locator("table.versions tbody tr");
    const before = await rows.count();
    assert.equal(before, (await versionsNow()).length);

    // Check now (by keyboard): a new version appears, newest first, without reloading
    await new Promise((r) => setTimeout(r, 1100)); // the cron version is the second it was found
    await tabTo(page, "Check now");
    await page.keyboard.press("Enter");
    await eventually(async () => (await rows.count()) > before, 10000, "the new version in the page");
    const newest = (await versionsNow())[0];
    assert.equal(await rows.first().getAttribute("data-version-id"), String(newest.id));

    // Pin the oldest, then unpin
    const oldest = rows.last();
    const oldestId = Number(await oldest.getAttribute("data-version-id"));
    await oldest.getByRole("button", { name: "Pin" }).click();
    await oldest.getByText("pinned").waitFor();
    assert.equal((await node.api("GET", `/api/v1/pipelines/${enc(R)}/resources`)).resources
      .find((r) => r.canonical === "cron.tick").pinned_version_id, oldestId);
    await page.getByRole("button", { name: "Unpin" }).click();
    await page.getByRole("button", { name: "Unpin" }).waitFor({ state: "detached" });
    assert.equal(await oldest.getByText("pinned").count(), 0);

    // Trigger with this version: the builds are linked
    await rows.first().getByRole("button", { name: "Trigger with this version" }).click();
    await page.getByRole("status").getByRole("link").first().waitFor();

    // the webhook URL, and a new one
    const url = page.getByLabel("Webhook URL");
    const first = await url.inputValue();
    assert.match(first, new RegExp(`^${node.url}/api/v1/webhooks/\\S+$`));
    await page.getByRole("button", { name: "New webhook token" }).click();
    await eventually(async () => (await url.inputValue()) !== first, 5000, "a new webhook URL");
    assert.equal((await node.raw("POST", new URL(first).pathname)).status, 404);
    await checkPage(page, "resource");

    // a failing check shows its output as text
    await page.goto(`${node.url}/pipelines/${enc(R)}/resources/broken`);
    await page.locator("[data-page=resource][aria-busy=false]").waitFor();
    await page.getByRole("button", { name: "Check now" }).click();
    await page.locator("pre.check-output").waitFor();
    assert.match(await page.locator("pre.check-output").textContent(), /nonexistent/);
    await page.locator('[data-status="check_failed"]').waitFor();
    await checkPage(page, "resource-check-error");
    const phone = await browser.page({ width: 390, height: 844 });
    await login(phone, node, "admin", adminPassword, `/pipelines/${enc(R)}/resources/cron.tick`);
    await phone.locator("[data-page=resource][aria-busy=false]").waitFor();
    await checkPage(phone, "resource-phone");
    assert.deepEqual(problems(page, ["404"]), []);
  });

  test("queue page: a pending build's reason in words, live; the workers page lists the embedded worker", async () => {
    const page = await browser.page();
    await login(page, node, "admin", adminPassword, "/queue");
    await page.locator("[data-page=queue][aria-busy=false]").waitFor();
    assert.equal(await page.locator("h1").textContent(), "Queue");
    const slow = (await node.api("POST", `/api/v1/pipelines/${enc(P)}/jobs/slow/trigger`)).build;
    const quick = (await node.api("POST", `/api/v1/pipelines/${enc(P)}/jobs/quick/trigger`)).build;

    // live: both appear without a reload; the second waits for the one slot
    const reason = page.locator("[data-blocked-by]");
    await reason.first().waitFor();
    assert.equal(await reason.first().textContent(), "max_in_flight");
    const pendingRow = page.locator("tr", { has: reason.first() });
    assert.match(await pendingRow.textContent(), /quick #1/);
    const running = page.getByRole("table", { name: /Running/ });
    await running.getByRole("link", { name: `${P} / slow #${slow.number}` }).waitFor();
    await running.getByText(/embedded/).waitFor();
    await page.locator('[data-figure="in_flight"]').getByText("1 / 1").waitFor();

    // the legend opens from the keyboard
    await tabTo(page, "What the reasons mean");
    await page.keyboard.press("Enter");
    await page.getByText("the node's --max-in-flight builds all hold a slot").waitFor();
    await checkPage(page, "queue");
    const phone = await browser.page({ width: 390, height: 844 });
    await login(phone, node, "admin", adminPassword, "/queue");
    await phone.locator("[data-page=queue][aria-busy=false]").waitFor();
    await phone.locator("[data-blocked-by]").first().waitFor();
    await checkPage(phone, "queue-phone");

    // the workers page: the embedded worker, its slot taken by the slow build
    await page.getByRole("link", { name: "Workers" }).click();
    await page.locator("[data-page=workers][aria-busy=false]").waitFor();
    assert.equal(await page.locator("h1").textContent(), "Workers");
    const { workers } = await node.api("GET", "/api/v1/workers");
    const row = page.locator(`tr[data-worker="${workers[0].name}"]`);
    assert.match(await row.textContent(), /embedded/);
    await row.locator('[data-status="healthy"]').waitFor();
    assert.match(await row.locator("[data-slots]").textContent(), /^1 \/ \d+$/);
    await row.getByRole("link", { name: `${P} / slow #${slow.number}` }).waitFor();
    assert.equal(await row.getByRole("button", { name: "Forget" }).count(), 0);
    await checkPage(page, "workers");
    await phone.goto(node.url + "/workers");
    await phone.locator("[data-page=workers][aria-busy=false]").waitFor();
    await checkPage(phone, "workers-phone");

    // cancelling the slow build lets the quick one run: the queue page follows live
    await page.goBack();
    await page.locator("[data-page=queue][aria-busy=false]").waitFor();
    await node.api("POST", `/api/v1/pipelines/${enc(P)}/jobs/slow/builds/${slow.number}/cancel`);
    await eventually(async () => (await node.api("GET",
      `/api/v1/pipelines/${enc(P)}/jobs/quick/builds/${quick.number}`)).build.status === "succeeded",
    15000, "the quick build to run");
    await page.getByText("Nothing waits for a slot.").waitFor();
    assert.deepEqual(problems(page), []);
  });

  test("set a pipeline: a diagnostic with line:col beside the text, fixed, saved, lands on the pipeline", async () => {
    const page = await browser.page();
    await login(page, node, "admin", adminPassword, "/set-pipeline");
    await page.locator("[data-page=set-pipeline][aria-busy=false]").waitFor();
    assert.equal(await page.locator("h1").textContent(), "Set a pipeline");
    const name = "from the browser";
    await page.getByLabel("Pipeline name").fill(name);

    // upload fills the editor
    const good = `variable "greeting" {\n  type    = string\n  default = "hi"\n}\n\njob "greet" {\n  task "hello" {\n    run "shell" {\n      cmd = "echo \${var.greeting}"\n    }\n  }\n}\n`;
    await page.getByLabel("Upload HCL file").setInputFiles(tempFile("greet.hcl", good));
    const editor = page.getByLabel("Configuration (HCL)");
    await eventually(async () => (await editor.inputValue()) === good, 5000, "the uploaded file");

    // an error: the live check lists it as line:col beside the text
    const bad = good.replace('  task "hello" {', '  get "cron" "missing" {}\n  task "hello" {');
    await editor.fill(bad);
    const diagnostic = page.locator("[data-diagnostic]").first();
    await diagnostic.waitFor();
    assert.match(await diagnostic.textContent(), /^7:\d+ .*missing/);
    await page.locator(".editor .gutter .bad").getByText("7").waitFor();
    await checkPage(page, "set-pipeline-error");
    // choosing it puts the cursor on that line
    await diagnostic.getByRole("button").click();
    const caret = await page.evaluate(() => {
      const t = document.getElementById("config");
      return document.activeElement === t && t.value.slice(0, t.selectionStart).split("\n").length;
    });
    assert.equal(caret, 7);

    // fixed, with a variable: valid, then Save (by keyboard) lands on the pipeline page
    await editor.fill(good);
    await page.getByRole("button", { name: "Add variable" }).click();
    await page.getByLabel("Name of variable 1").fill("greeting");
    await page.getByLabel("Value of variable 1").fill("hello there");
    await page.locator("#check-status").getByText("Valid.").waitFor();
    await page.getByLabel("Value of variable 1").focus();
    await tabTo(page, "Save", 10);
    await page.keyboard.press("Enter");
    await page.waitForURL(`${node.url}/pipelines/${enc(name)}`);
    const saved = (await node.api("GET", `/api/v1/pipelines/${enc(name)}`)).pipeline;
    assert.equal(saved.config, good);
    assert.deepEqual(saved.vars, { greeting: "hello there" });

    // an existing pipeline loads into the editor, its variables too
    await page.goto(`${node.url}/set-pipeline?pipeline=${enc(name)}`);
    await page.locator("[data-page=set-pipeline][aria-busy=false]").waitFor();
    assert.equal(await editor.inputValue(), good);
    assert.equal(await page.getByLabel("Value of variable 1").inputValue(), "hello there");
    await checkPage(page, "set-pipeline");
    const phone = await browser.page({ width: 390, height: 844 });
    await login(phone, node, "admin", adminPassword, "/set-pipeline");
    await phone.locator("[data-page=set-pipeline][aria-busy=false]").waitFor();
    await checkPage(phone, "set-pipeline-phone");
    assert.deepEqual(problems(page, ["422"]), []);
  });

  test("resource page: versions come 50 at a time", async () => {
    for (let i = 0; i < 55; i++)
      await node.api("POST", resourcePath("many") + "/versions", { version: { n: String(i) } });
    const page = await browser.page();
    await login(page, node, "admin", adminPassword, `/pipelines/${enc(R)}/resources/many`);
    await page.locator("[data-page=resource][aria-busy=false]").waitFor();
    const rows = page.locator("table.versions tbody tr");
    assert.equal(await rows.count(), 50);
    assert.match(await rows.first().textContent(), /n:\s*54/);
    await page.getByRole("button", { name: "Show more versions" }).click();
    await eventually(async () => (await rows.count()) >= 55, 5000, "the next versions");
    assert.equal(await page.getByRole("button", { name: "Show more versions" }).count(), 0);
  });

  test("a read-only user sees no actions and cannot set pipelines", async () => {
    await node.api("POST", "/api/v1/users", { username: "reader", password: "reader-password", role: "read" });
    const page = await browser.page();
    await login(page, node, "reader", "reader-password", `/pipelines/${enc(R)}/resources/cron.tick`);
    await page.locator("[data-page=resource][aria-busy=false]").waitFor();
    assert.equal(await page.getByRole("button", { name: "Check now" }).count(), 0);
    assert.equal(await page.getByRole("button", { name: "Pin" }).count(), 0);
    assert.equal(await page.getByLabel("Webhook URL").count(), 0);
    assert.equal(await page.getByRole("link", { name: "Set a pipeline" }).count(), 0);
    await page.goto(node.url + "/set-pipeline");
    await page.getByText("Setting a pipeline needs the admin role").waitFor();
    assert.equal(await page.getByLabel("Configuration (HCL)").count(), 0);
  });
});
