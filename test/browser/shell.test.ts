// The UI shell in a real browser: assets and CSP, sign-in with a real key, role display, sign-out, keyboard
// shortcuts, and the customers and licenses pages against the real API.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openBrowser, signIn, startUiCloud, type UiBrowser, type UiCloud } from "./harness.ts";

describe("fleet UI shell (chromium)", () => {
  let t: UiCloud;
  let b: UiBrowser;
  beforeAll(async () => {
    t = await startUiCloud();
    b = await openBrowser();
  }, 180_000);
  afterAll(async () => {
    await b?.close();
    await t?.stop();
  });

  it("serves index.html with a strict CSP for UI routes and the assets from /ui/", async () => {
    for (const path of ["/", "/fleet", "/appliances/apl_x", "/rollouts/new", "/customers", "/licenses"]) {
      const res = await fetch(t.url + path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toMatch(/text\/html/);
      const csp = res.headers.get("content-security-policy") ?? "";
      expect(csp).toMatch(/script-src 'self' 'sha256-[A-Za-z0-9+/=]+'/);
      expect(csp).not.toMatch(/unsafe-inline|unsafe-eval|https?:/);
    }
    const js = await fetch(`${t.url}/ui/js/main.js`, { headers: { "accept-encoding": "gzip" } });
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/javascript/);
    const etag = js.headers.get("etag")!;
    expect((await fetch(`${t.url}/ui/js/main.js`, { headers: { "if-none-match": etag } })).status).toBe(304);
    expect((await fetch(`${t.url}/ui/vendor/uplot.mjs`)).status).toBe(200);
    expect((await fetch(`${t.url}/ui/../package.json`)).status).toBe(404);
    expect((await fetch(`${t.url}/ui/vendor/../../package.json`)).status).toBe(404);
  });

  it("refuses a wrong key, signs in with a real one, shows the role and signs out", async () => {
    const { page } = b;
    await page.goto(`${t.url}/customers`);
    await expect.poll(() => page.url()).toContain("/signin?next=%2Fcustomers");
    await page.getByLabel("API key").fill("cok_not_a_real_key");
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("alert").filter({ hasText: "not accepted" }).waitFor();
    await b.shot("01-signin-error");

    await page.getByLabel("API key").fill(t.adminKey);
    await page.getByRole("button", { name: "Sign in" }).click();
    await page.getByRole("heading", { level: 1, name: "Customers" }).waitFor();
    expect(await page.getByTestId("role").textContent()).toBe("admin");
    expect(await page.evaluate(() => sessionStorage.getItem("camelops.apiKey"))).toBe(t.adminKey);

    await page.getByRole("button", { name: "Sign out" }).click();
    await page.getByLabel("API key").waitFor();
    expect(await page.evaluate(() => sessionStorage.getItem("camelops.apiKey"))).toBeNull();
  });

  it("creates a customer and issues, suspends and reinstates a license from the UI", async () => {
    const { page } = b;
    await signIn(page, t.url, t.adminKey, "/customers");
    await page.getByLabel("Name", { exact: true }).fill("Globex Corp");
    await page.getByLabel("Contact e-mail").fill("ops@globex.example");
    await page.getByLabel("Tags").fill("eu, gold");
    await page.getByRole("button", { name: "Add customer" }).click();
    await page.getByRole("rowheader", { name: "Globex Corp" }).waitFor();
    await b.shot("02-customers");

    await page.keyboard.press("g");
    await page.keyboard.press("l");
    await page.getByRole("heading", { level: 1, name: "Licenses" }).waitFor();
    await page.getByLabel("Customer").selectOption({ label: "Globex Corp" });
    await page.getByRole("button", { name: "Issue license" }).click();
    const row = page.getByTestId("licenses-table").locator("tbody tr").filter({ hasText: "Globex Corp" });
    await row.waitFor();
    await expect.poll(() => row.textContent()).toContain("active");

    page.once("dialog", (d) => d.accept("customer asked for a pause"));
    await row.getByRole("button", { name: /^Suspend/ }).click();
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain("suspended");
    await b.shot("03-licenses-suspended");
    await row.getByRole("button", { name: /^Reinstate/ }).click();
    await expect.poll(() => row.textContent(), { timeout: 10_000 }).toContain("active");

    await row.getByRole("button", { name: /^Show token/ }).click();
    const token = page.getByRole("textbox", { name: "Token" });
    await token.waitFor();
    expect(await token.inputValue()).toMatch(/^ey[\w-]+\.[\w-]+\.[\w-]+$/);
    await page.keyboard.press("Escape");
  });

  it("keeps a viewer's pages read-only", async () => {
    const viewer = await t.api<{ secret: string }>("POST", "/v1/api-keys", { name: "ui viewer", role: "viewer" });
    const ctx = await openBrowser();
    try {
      await signIn(ctx.page, t.url, viewer.secret, "/customers");
      await ctx.page.getByRole("heading", { level: 1, name: "Customers" }).waitFor();
      expect(await ctx.page.getByRole("button", { name: "Add customer" }).count()).toBe(0);
      await ctx.page.goto(`${t.url}/licenses`);
      await ctx.page.getByRole("heading", { level: 1, name: "Licenses" }).waitFor();
      expect(await ctx.page.getByRole("button", { name: "Issue license" }).count()).toBe(0);
      expect(ctx.problems.filter((p) => !p.includes("Failed to load resource"))).toEqual([]);
    } finally {
      await ctx.close();
    }
  });

  it("opens the shortcuts dialog with ? and raised no console error, CSP violation or external request", async () => {
    const { page } = b;
    await page.goto(`${t.url}/customers`);
    await page.getByRole("heading", { level: 1, name: "Customers" }).waitFor();
    await page.locator("body").press("?");
    await page.getByRole("dialog", { name: "Keyboard shortcuts" }).waitFor();
    await b.shot("04-shortcuts");
    await page.keyboard.press("Escape");
    // 401s of the deliberate wrong-key attempt are logged by the browser as failed resources; nothing else may be.
    expect(b.problems.filter((p) => !p.includes("401"))).toEqual([]);
  });
});
