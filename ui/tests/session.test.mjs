// The UI as the node serves it, in a real browser: signing in through the login page sets a
// session cookie no script can read, the strict Content Security Policy lets the page run with
// no violation, a deep link opens the UI, a write from the page carries the CSRF token, and
// logging out ends the session.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { login, openBrowser, startNode } from "./harness.mjs";

let node;
let browser;
before(async () => {
  node = await startNode();
  browser = await openBrowser();
});
after(async () => {
  await browser?.close();
  await node?.stop();
});

test("signing in sets an HttpOnly session cookie; writes carry the CSRF token; logging out ends it", async () => {
  const page = await browser.page();
  const violations = [];
  page.on("console", (m) => { if (/Content Security Policy/i.test(m.text())) violations.push(m.text()); });
  await login(page, node);

  const cookies = await page.context().cookies();
  const session = cookies.find((c) => c.name === "pikoci_session");
  assert.ok(session, "the session cookie is set");
  assert.equal(session.httpOnly, true);
  assert.equal(session.sameSite, "Strict");
  assert.equal(session.path, "/");
  assert.equal(await page.evaluate(() => document.cookie.includes("pikoci_session")), false);

  // a write from the page: with the CSRF token it works, without it the node refuses it
  const statuses = await page.evaluate(async () => {
    const me = await (await fetch("/api/v1/session")).json();
    const body = JSON.stringify({ config: 'job "j" {\n  task "t" {\n    run "shell" {\n      cmd = "true"\n    }\n  }\n}\n' });
    const headers = { "Content-Type": "application/json" };
    const without = await fetch("/api/v1/pipelines/from-page", { method: "PUT", headers, body });
    const withToken = await fetch("/api/v1/pipelines/from-page",
      { method: "PUT", headers: { ...headers, "X-CSRF-Token": me.csrf_token }, body });
    return [without.status, withToken.status];
  });
  assert.deepEqual(statuses, [403, 201]);

  // a deep link opens the UI (the History API routes it), signed in
  await page.goto(`${node.url}/pipelines/from-page`);
  await page.getByRole("button", { name: "Log out" }).waitFor();

  await page.getByRole("button", { name: "Log out" }).click();
  await page.getByRole("button", { name: "Log in" }).waitFor();
  const left = (await page.context().cookies()).find((c) => c.name === "pikoci_session");
  assert.equal(left, undefined);
  assert.equal((await page.evaluate(async () => (await fetch("/api/v1/session")).status)), 401);
  assert.deepEqual(violations, []);
  // the refused write and the check after logging out are the only failed loads
  assert.deepEqual(page.problems.filter((p) => !/status of 40[13]/.test(p)), []);
});
