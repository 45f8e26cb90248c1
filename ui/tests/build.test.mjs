// The job and build pages in a real browser against a real node: trigger, live log lines with
// colours, line links, search, cancel, retry, approve, reject, mark as warning, a 4 MiB log,
// screenshots, accessibility and the keyboard.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { accessibilityProblems, eventually, login, openBrowser, screenshot, startNode } from "./harness.mjs";

const flagDir = mkdtempSync(join(tmpdir(), "pikoci-ui-build-"));
const flag = join(flagDir, "go");

const pipeline = `
job "colors" {
  task "print" {
    run "shell" {
      cmd = <<-EOT
        for i in 1 2 3; do printf '\\033[31mred line %s\\033[0m plain \\033[1;32mgreen %s\\033[0m\\n' $i $i; done
        printf '\\033[38;5;208morange\\033[0m <b>not bold</b>\\n'
        n=0
        while [ ! -e ${flag} ] && [ $n -lt 300 ]; do n=$((n+1)); sleep 0.1; done
        echo "printed after the page opened"
      EOT
    }
  }
}

job "slow" {
  concurrency = 1
  task "wait" {
    run "shell" { cmd = "echo waiting; sleep 60" }
  }
}

job "gated" {
  approve "production" {
    approvals = 1
  }
  task "ship" {
    run "shell" { cmd = "echo shipping" }
  }
}

job "fails" {
  task "break" {
    run "shell" { cmd = "echo about to fail; exit 1" }
  }
}

job "deploy" {
  input "env" {
    type    = "string"
    options = ["staging", "prod"]
    default = "staging"
  }
  input "replicas" {
    type    = "number"
    default = 2
  }
  input "dry_run" {
    type    = "bool"
    default = false
  }
  task "show" {
    run "shell" { cmd = "echo env=$INPUT_env replicas=$INPUT_replicas dry_run=$INPUT_dry_run" }
  }
}

job "quick" {
  task "t" {
    run "shell" { cmd = "true" }
  }
}

job "big" {
  task "flood" {
    run "shell" { cmd = "yes 'a line of a very long log, padded to about seventy bytes ....' | head -n 60000; echo last-line-of-the-flood" }
  }
}
`;

let node, browser;
before(async () => {
  node = await startNode(["--concurrency", "4"]);
  await node.setPipeline("ui build", pipeline);
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
  await node?.stop();
});

const jobPath = (j) => `/pipelines/${encodeURIComponent("ui build")}/jobs/${encodeURIComponent(j)}`;
const api = (j, rest = "") => `/api/v1${jobPath(j)}${rest}`;
const headStatus = (page) => page.locator("[data-page=build] .build-status [data-status]");

async function signedIn(size) {
  const page = await browser.page(size);
  await login(page, node);
  return page;
}

/** Opens a step's row unless it is open already (a step seen running stays open). */
async function openStep(page, name) {
  const toggle = page.getByRole("button", { name });
  await toggle.waitFor();
  if ((await toggle.getAttribute("aria-expanded")) === "false") await toggle.click();
}

/** The page's errors, leaving out the 401 of the session check before logging in and the
 *  refused inline script that accessibilityProblems tries first (the CSP forbids it). */
function pageErrors(page) {
  return page.problems.filter((p) => !p.includes("401") && !p.includes("Executing inline script"));
}

async function buildStatus(j, n) {
  return (await node.api("GET", api(j, `/builds/${n}`))).build.status;
}

test("trigger from the job page; the log streams live with colours, links and search", async () => {
  const page = await signedIn();
  await page.goto(node.url + jobPath("colors"));
  await page.locator("[data-page=job][aria-busy=false]").waitFor();
  assert.equal(await page.locator("h1").textContent(), "colors");
  await page.getByRole("button", { name: "Trigger" }).click();
  await page.locator("h1", { hasText: "Build 1" }).waitFor();
  await page.locator("[data-page=build][aria-busy=false]").waitFor();

  const log = page.getByRole("region", { name: "Log of task print" });
  await log.locator(".log-line", { hasText: "red line 3" }).waitFor();
  assert.equal(await log.locator(".log-line", { hasText: "printed after the page opened" }).count(), 0);
  writeFileSync(flag, "");
  await log.locator(".log-line", { hasText: "printed after the page opened" }).waitFor();
  // a line that came live carries the time it arrived
  assert.match(await log.locator(".log-line", { hasText: "printed after" }).locator(".lt").textContent(), /^\d\d:\d\d:\d\d$/);

  // colours are spans with the palette's classes, the text escaped as text
  const red = log.locator(".ansi-fg-1", { hasText: "red line 1" });
  assert.equal(await red.count(), 1);
  assert.equal(await log.locator(".ansi-fg-2.ansi-bold", { hasText: "green 2" }).count(), 1);
  // 256 colours are inline colours (set through the DOM, which the CSP allows); markup is text
  const orange = log.locator(".log-line .lc span", { hasText: "orange" });
  assert.equal(await orange.evaluate((el) => getComputedStyle(el).color), "rgb(255, 135, 0)");
  assert.equal(await log.locator(".log-line", { hasText: "<b>not bold</b>" }).count(), 1);
  await headStatus(page).and(page.locator("[data-status=succeeded]")).waitFor();

  // the job page shows it, live
  await page.goto(node.url + jobPath("colors"));
  await page.locator("[data-page=job][aria-busy=false]").waitFor();
  await page.locator("tr[data-build='1'] [data-status=succeeded]").waitFor();
  await node.api("POST", api("colors", "/trigger"));
  await page.locator("tr[data-build='2']").waitFor();
  await screenshot(page, "job");
  assert.deepEqual(await accessibilityProblems(page), []);
  const phoneJob = await signedIn({ width: 390, height: 844 });
  await phoneJob.goto(node.url + jobPath("colors"));
  await phoneJob.locator("tr[data-build='2']").waitFor();
  await screenshot(phoneJob, "job-phone");
  await phoneJob.close();
  await page.getByRole("button", { name: "Pause" }).click();
  await page.locator("[data-page=job] [data-status=paused]").waitFor();
  assert.equal((await node.api("GET", api("colors"))).job.paused, true);
  await page.getByRole("button", { name: "Unpause" }).click();
  await page.getByRole("button", { name: "Pause" }).waitFor();
  assert.equal((await node.api("GET", api("colors"))).job.paused, false);

  // a line link opens the build on that line, highlighted
  await page.goto(node.url + jobPath("colors") + "/builds/1");
  await openStep(page, "task print");
  const line2 = page.locator(".log-line[data-line='2'] a.ln");
  await line2.click();
  assert.match(page.url(), /#step-0-L2$/);
  const fresh = await signedIn();
  await fresh.goto(node.url + jobPath("colors") + "/builds/1#step-0-L3");
  await fresh.locator(".log-line.hl[data-line='3']", { hasText: "red line 3" }).waitFor();
  await fresh.close();

  // search: count, next match marks the text
  await page.getByLabel("Search log").fill("GREEN 2");
  await page.locator(".match-count", { hasText: "1 match" }).waitFor();
  await page.getByRole("button", { name: "Next match" }).click();
  await page.locator(".match-count", { hasText: "1 of 1" }).waitFor();
  assert.equal(await page.locator(".log-line.hl mark").textContent(), "green 2");
  await screenshot(page, "build");
  assert.deepEqual(await accessibilityProblems(page), []);
  const phone = await signedIn({ width: 390, height: 844 });
  await phone.goto(node.url + jobPath("colors") + "/builds/1");
  await openStep(phone, "task print");
  await phone.locator(".log-line", { hasText: "red line 1" }).waitFor();
  await screenshot(phone, "build-phone");
  assert.deepEqual(pageErrors(page), []);
});

test("a pending build says why it waits; the keyboard reaches Cancel; a cancelled build can be retried", async () => {
  const page = await signedIn();
  const { build } = await node.api("POST", api("slow", "/trigger"));
  const queued = (await node.api("POST", api("slow", "/trigger"))).build;
  await page.goto(node.url + jobPath("slow") + `/builds/${queued.number}`);
  await headStatus(page).and(page.locator("[data-status=pending]")).waitFor();
  await page.locator(".facts .blocked-by", { hasText: "the job already runs as many builds as its concurrency allows" }).waitFor();
  await page.getByRole("button", { name: "Cancel" }).click();
  await headStatus(page).and(page.locator("[data-status=cancelled]")).waitFor();

  await page.goto(node.url + jobPath("slow") + `/builds/${build.number}`);
  await page.getByRole("region", { name: "Log of task wait" }).locator(".log-line", { hasText: "waiting" }).waitFor();
  let reached = false;
  for (let i = 0; i < 40 && !reached; i++) {
    await page.keyboard.press("Tab");
    reached = await page.evaluate(() => document.activeElement?.textContent === "Cancel");
  }
  assert.ok(reached, "Tab reaches Cancel");
  await page.keyboard.press("Enter");
  await headStatus(page).and(page.locator("[data-status=cancelled]")).waitFor();
  assert.equal(await buildStatus("slow", build.number), "cancelled");

  await page.getByRole("button", { name: "Retry" }).click();
  await page.locator("h1", { hasText: `Build ${build.number}.1` }).waitFor();
  // who asked for it: the retry was clicked by the admin signed in
  await page.locator("[data-page=build] .facts", { hasText: `retry of #${build.number}, by admin` }).waitFor();
  await page.getByRole("button", { name: "Cancel" }).click();
  await headStatus(page).and(page.locator("[data-status=cancelled]")).waitFor();
});

test("a gated build waits for approval; Approve moves it on, Reject asks why", async () => {
  const page = await signedIn();
  const first = (await node.api("POST", api("gated", "/trigger"))).build;
  await page.goto(node.url + jobPath("gated") + `/builds/${first.number}`);
  await headStatus(page).and(page.locator("[data-status=waiting_for_approval]")).waitFor();
  await page.locator(".facts .blocked-by", { hasText: "waiting for approval" }).waitFor();
  await page.locator(".facts .approvals", { hasText: "0 of 1" }).waitFor();
  await page.getByRole("button", { name: "Approve" }).click();
  await headStatus(page).and(page.locator("[data-status=succeeded]")).waitFor();
  await page.locator(".facts .approvals", { hasText: "admin approved" }).waitFor();

  const second = (await node.api("POST", api("gated", "/trigger"))).build;
  await page.goto(node.url + jobPath("gated") + `/builds/${second.number}`);
  await page.getByRole("button", { name: "Reject" }).click();
  await page.getByLabel("Why is it rejected?").fill("not today");
  await page.getByRole("button", { name: "Reject" }).click();
  await headStatus(page).and(page.locator("[data-status=failed]")).waitFor();
  await page.locator(".build-status", { hasText: "rejected by admin: not today" }).waitFor();
});

test("the trigger form is made from the job's inputs", async () => {
  const page = await signedIn();
  await page.goto(node.url + jobPath("deploy"));
  await page.locator("[data-page=job][aria-busy=false]").waitFor();
  await page.getByLabel("env").selectOption("prod");
  await page.getByLabel("replicas").fill("5");
  await page.getByLabel("dry_run").check();
  await page.getByRole("button", { name: "Trigger" }).click();
  await page.locator("h1", { hasText: "Build 1" }).waitFor();
  await headStatus(page).and(page.locator("[data-status=succeeded]")).waitFor();
  await openStep(page, "task show");
  await page.getByRole("region", { name: "Log of task show" })
    .locator(".log-line", { hasText: "env=prod replicas=5 dry_run=true" }).waitFor();
  assert.deepEqual(pageErrors(page), []);
});

test("a failed build can be marked as warning", async () => {
  const page = await signedIn();
  const { build } = await node.api("POST", api("fails", "/trigger"));
  await eventually(async () => (await buildStatus("fails", build.number)) === "failed", 20000, "failed build");
  await page.goto(node.url + jobPath("fails") + `/builds/${build.number}`);
  // the failed step is open
  await page.getByRole("region", { name: "Log of task break" }).locator(".log-line", { hasText: "about to fail" }).waitFor();
  await page.getByRole("button", { name: "Mark as warning" }).click();
  await headStatus(page).and(page.locator("[data-status=warning]")).waitFor();
  assert.equal(await buildStatus("fails", build.number), "warning");
  await page.goto(node.url + jobPath("fails") + "/builds/999");
  await page.locator("[data-page=build][aria-busy=false] .error", { hasText: "No build 999 of job fails" }).waitFor();
});

test("roles hide what a user may not do", async () => {
  await node.api("POST", "/api/v1/users", { username: "reader", password: "reader-password", role: "read" });
  await node.api("POST", "/api/v1/users", { username: "writer", password: "writer-password", role: "write" });
  const { build } = await node.api("POST", api("gated", "/trigger"));
  const url = node.url + jobPath("gated") + `/builds/${build.number}`;
  const buttons = async (page) => {
    await page.goto(url);
    await headStatus(page).and(page.locator("[data-status=waiting_for_approval]")).waitFor();
    return page.locator("[data-page=build] .page-head .actions button").allTextContents();
  };
  const reader = await browser.page();
  await login(reader, node, "reader", "reader-password");
  assert.deepEqual(await buttons(reader), []);
  await reader.goto(node.url + jobPath("gated"));
  await reader.locator("[data-page=job][aria-busy=false]").waitFor();
  assert.equal(await reader.getByRole("button", { name: "Trigger" }).count(), 0);
  assert.equal(await reader.getByRole("button", { name: "Pause" }).count(), 0);
  const writer = await browser.page();
  await login(writer, node, "writer", "writer-password");
  assert.deepEqual(await buttons(writer), ["Cancel"]);
  const admin = await signedIn();
  assert.deepEqual(await buttons(admin), ["Cancel", "Approve", "Reject"]);
});

test("the job page shows 25 builds, then older ones on demand", async () => {
  for (let i = 0; i < 30; i++) await node.api("POST", api("quick", "/trigger"));
  const page = await signedIn();
  await page.goto(node.url + jobPath("quick"));
  await page.locator("[data-page=job][aria-busy=false]").waitFor();
  await page.locator("tr[data-build='30']").waitFor();
  assert.equal(await page.locator("tbody tr").count(), 25);
  assert.equal(await page.locator("tr[data-build='5']").count(), 0);
  await page.getByRole("button", { name: "Older builds" }).click();
  await page.locator("tr[data-build='1']").waitFor();
  assert.equal(await page.locator("tbody tr").count(), 30);
  assert.equal(await page.getByRole("button", { name: "Older builds" }).count(), 0);
});

test("a 4 MiB log opens and scrolls with only the visible lines in the DOM", async () => {
  const page = await signedIn();
  const { build } = await node.api("POST", api("big", "/trigger"));
  await eventually(async () => (await buildStatus("big", build.number)) === "succeeded", 30000, "big build");
  const t0 = Date.now();
  await page.goto(node.url + jobPath("big") + `/builds/${build.number}`);
  await page.locator("[data-page=build][aria-busy=false]").waitFor();
  await openStep(page, "task flood");
  const log = page.getByRole("region", { name: "Log of task flood" });
  await log.locator(".log-line").first().waitFor();
  const opened = Date.now() - t0;
  const lines = await page.locator(".log-line").count();
  assert.ok(lines > 10 && lines < 300, `${lines} line elements`);
  await log.evaluate((el) => { el.scrollTop = el.scrollHeight; });
  await log.locator(".log-line", { hasText: "last-line-of-the-flood" }).waitFor();
  const total = Number(await log.locator(".log-line").last().getAttribute("data-line"));
  assert.ok(total > 50000, `${total} lines`);
  assert.ok((await page.locator(".log-line").count()) < 300);
  // jumping anywhere in the log paints the lines there within a frame or two
  const jumps = await log.evaluate(async (el) => {
    const times = [];
    for (let k = 0; k < 20; k++) {
      const t = performance.now();
      el.scrollTop = ((k * 7919) % 20) / 20 * (el.scrollHeight - el.clientHeight);
      await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
      const want = Math.floor(el.scrollTop / 20) + 1;
      const shown = [...el.querySelectorAll(".log-line")].map((l) => Number(l.dataset.line));
      if (!shown.includes(want)) throw new Error(`line ${want} not rendered`);
      times.push(performance.now() - t);
    }
    return times.sort((a, b) => a - b);
  });
  assert.ok(jumps[jumps.length - 1] < 500, `slowest jump ${jumps[jumps.length - 1]} ms`);
  await page.getByLabel("Search log").fill("last-line-of-the");
  await page.locator(".match-count", { hasText: "1 match" }).waitFor();
  console.log(`4 MiB log: page ready with the log shown in ${opened} ms, ${lines} line elements for ${total} lines; ` +
    `a jump to anywhere painted in ${jumps[10].toFixed(0)} ms (median), ${jumps[19].toFixed(0)} ms (slowest)`);
});
