// The dashboard and the pipeline page in a real browser against a real node: the graph of a
// get → job → passed → job chain, a trigger through the form made from the job's inputs (a value
// the node refuses, then a good one), the node's status changing live, pause/unpause, check now,
// the keyboard, screenshots and axe.
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { accessibilityProblems, eventually, login, openBrowser, screenshot, startNode } from "./harness.mjs";

const pipeline = "sample pipeline";
const config = `
resource "cron" "tick" {
  check_interval = "@every 24h"
}

job "unit" {
  get "cron" "tick" {
    trigger = false
  }
  task "test" {
    run "shell" {
      cmd = "echo unit tests"
    }
  }
}

job "deploy" {
  input "env" {
    description = "where to deploy"
    options     = ["staging", "prod"]
    default     = "staging"
  }
  input "replicas" {
    type    = number
    default = 2
  }
  input "dry_run" {
    type    = bool
    default = true
  }
  get "cron" "tick" {
    passed = ["unit"]
  }
  task "ship" {
    run "shell" {
      cmd = "sleep 2; echo deploying to $INPUT_env x$INPUT_replicas"
    }
  }
}
`;

const P = encodeURIComponent(pipeline);
let node;
let browser;

/** Script errors; the browser's own notes of 4xx answers (the login's 401, the refused trigger's
 *  400) are expected, and so is the policy refusing the harness's inline axe script (it then
 *  runs axe another way). */
const scriptProblems = (page) =>
  page.problems.filter((p) => !/Failed to load resource|Content Security Policy/.test(p));

before(async () => {
  node = await startNode();
  await node.setPipeline(pipeline, config);
  // a first build of unit, so the dashboard has a status to show and deploy a version that passed
  await eventually(async () => (await node.api("GET", `/api/v1/pipelines/${P}/resources/cron.tick/versions`)).versions.length > 0,
    20000, "the first check of tick");
  await node.api("POST", `/api/v1/pipelines/${P}/jobs/unit/trigger`);
  await eventually(async () => (await node.api("GET", `/api/v1/pipelines/${P}/jobs/unit/builds`)).builds[0]?.status === "succeeded",
    20000, "unit #1 to succeed");
  browser = await openBrowser();
});

after(async () => {
  await browser?.close();
  await node?.stop();
});

test("dashboard, pipeline graph, trigger with inputs live, pause, check now, keyboard", async () => {
  const page = await browser.page();
  await login(page, node);
  const dash = page.locator("[data-page=dashboard][aria-busy=false]");
  await dash.waitFor();
  assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), "Dashboard");
  const row = page.locator(`[data-pipeline="${pipeline}"]`);
  await row.waitFor();
  await row.locator('[data-job="unit"] [data-status="succeeded"]').waitFor();
  await row.locator('[data-job="deploy"] [data-status="none"]').waitFor();
  await page.getByLabel("Filter pipelines").fill("nothing like it");
  assert.equal(await row.count(), 0);
  await page.getByLabel("Filter pipelines").fill("sample");
  await row.waitFor();
  await screenshot(page, "dashboard");
  assert.deepEqual(await accessibilityProblems(page), []);

  // to the pipeline page by its link, without reloading
  await page.evaluate(() => (window.__sameDocument = true));
  await row.getByRole("link", { name: pipeline }).click();
  await page.locator("[data-page=pipeline][aria-busy=false]").waitFor();
  assert.equal(await page.getByRole("heading", { level: 1 }).textContent(), pipeline);
  for (const id of ["res:cron.tick", "job:unit", "job:deploy"]) await page.locator(`[data-node="${id}"]`).waitFor();
  // tick → unit (a get), unit → deploy (passed): two edges, the second not triggering
  assert.equal(await page.locator(".gedge").count(), 2);
  assert.equal(await page.locator(".gedge-get").count(), 2);
  assert.equal(await page.locator('[data-node="job:unit"] [data-status]').textContent(), "succeeded");
  await screenshot(page, "pipeline");
  assert.deepEqual(await accessibilityProblems(page), []);

  // the wheel zooms, a drag pans, Fit brings it back
  const stage = page.locator("svg.graph > g");
  const fitted = await stage.getAttribute("transform");
  const box = await page.locator("svg.graph").boundingBox();
  await page.mouse.move(box.x + box.width - 40, box.y + box.height - 20);
  await page.mouse.wheel(0, -400);
  const zoomed = await stage.getAttribute("transform");
  assert.notEqual(zoomed, fitted);
  await page.mouse.down();
  await page.mouse.move(box.x + box.width - 140, box.y + box.height - 60, { steps: 5 });
  await page.mouse.up();
  assert.notEqual(await stage.getAttribute("transform"), zoomed);
  await page.getByRole("button", { name: "Fit" }).click();
  assert.equal(await stage.getAttribute("transform"), fitted);

  // trigger deploy through its form: the node refuses 1e3 for a number, then takes 3
  await page.getByRole("button", { name: "Actions for deploy" }).first().click();
  const panel = page.getByRole("complementary", { name: "Job deploy" });
  await panel.waitFor();
  assert.equal(await panel.getByLabel("env").inputValue(), "staging");
  assert.equal(await panel.getByLabel("dry_run").isChecked(), true);
  await panel.getByLabel("env").selectOption("prod");
  await panel.getByLabel("replicas").fill("1e3");
  await panel.getByRole("button", { name: "Trigger" }).click();
  const refused = panel.getByRole("alert");
  await refused.waitFor();
  assert.match(await refused.textContent(), /replicas/);
  assert.equal((await node.api("GET", `/api/v1/pipelines/${P}/jobs/deploy/builds`)).builds.length, 0);
  await panel.getByLabel("replicas").fill("3");
  await panel.getByRole("button", { name: "Trigger" }).click();
  await panel.getByRole("status").filter({ hasText: "Build 1 created" }).waitFor();
  const status = page.locator('[data-node="job:deploy"] [data-status]');
  await page.locator('[data-node="job:deploy"] [data-status="started"]').waitFor({ timeout: 20000 });
  await page.locator('[data-node="job:deploy"] [data-status="succeeded"]').waitFor({ timeout: 20000 });
  assert.equal(await status.textContent(), "succeeded");
  assert.equal(await page.evaluate(() => window.__sameDocument), true, "no reload");
  const build = (await node.api("GET", `/api/v1/pipelines/${P}/jobs/deploy/builds/1`)).build;
  assert.match(build.steps.map((x) => x.logs).join(""), /deploying to prod x3/);

  // pause and unpause the pipeline from the page head
  const head = page.locator(".page-head");
  await head.getByRole("button", { name: "Pause" }).click();
  await head.getByRole("button", { name: "Unpause" }).waitFor();
  await page.locator('[data-paused="true"]').waitFor();
  assert.equal((await node.api("GET", `/api/v1/pipelines/${P}`)).pipeline.paused, true);
  await head.getByRole("button", { name: "Unpause" }).click();
  await head.getByRole("button", { name: "Pause" }).waitFor();
  assert.equal((await node.api("GET", `/api/v1/pipelines/${P}`)).pipeline.paused, false);

  // pause the job from its panel: the node shows it paused, live
  await panel.getByRole("button", { name: "Pause" }).click();
  await page.locator('[data-node="job:deploy"].paused').waitFor();
  await panel.getByRole("button", { name: "Unpause" }).click();
  await eventually(async () => !(await page.locator('[data-node="job:deploy"].paused').count()), 10000, "deploy unpaused");

  // check the resource now
  const before = (await node.api("GET", `/api/v1/pipelines/${P}/resources`)).resources[0].last_check_at;
  await page.getByRole("button", { name: "Actions for tick" }).first().click();
  const resPanel = page.getByRole("complementary", { name: "Resource tick" });
  await resPanel.getByRole("button", { name: "Check now" }).click();
  await eventually(async () => (await node.api("GET", `/api/v1/pipelines/${P}/resources`)).resources[0].last_check_at !== before,
    20000, "a new check of tick");
  assert.equal(await resPanel.getByRole("alert").count(), 0);
  await resPanel.getByRole("button", { name: "Close" }).click();

  // the keyboard reaches a node's actions and its Trigger button
  await page.reload();
  await page.locator("[data-page=pipeline][aria-busy=false]").waitFor();
  const focused = () => page.evaluate(() => {
    const e = document.activeElement;
    return e?.getAttribute("aria-label") || e?.textContent?.trim() || "";
  });
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = (await focused()) === "Actions for deploy";
  }
  assert.ok(reached, "Tab reaches the actions of deploy");
  await page.keyboard.press("Enter");
  reached = false;
  for (let i = 0; i < 15 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = (await focused()) === "Trigger";
  }
  assert.ok(reached, "Tab reaches Trigger");
  assert.deepEqual(scriptProblems(page), []);
});

test("the pipeline page on a phone: the graph and the list of jobs and resources", async () => {
  const page = await browser.page({ width: 390, height: 844 });
  await login(page, node, undefined, undefined, `/pipelines/${P}`);
  await page.locator("[data-page=pipeline][aria-busy=false]").waitFor();
  await page.getByRole("heading", { name: "Jobs" }).waitFor();
  await page.locator(".node-list").getByRole("link", { name: "deploy" }).waitFor();
  await page.getByRole("button", { name: "Actions for deploy" }).last().click();
  await page.getByRole("complementary", { name: "Job deploy" }).getByRole("button", { name: "Trigger" }).waitFor();
  await screenshot(page, "pipeline-phone");
  assert.deepEqual(await accessibilityProblems(page), []);
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - innerWidth);
  assert.ok(overflow <= 0, `the page scrolls sideways by ${overflow} px`);
  assert.deepEqual(scriptProblems(page), []);
});
