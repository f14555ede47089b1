// The self-contained /docs page: served with a CSP that allows only its own inline script and style, and, in a real
// headless Chromium when one is installed, it renders every operation of /openapi.json without console errors.
import { existsSync } from "node:fs";
import pino from "pino";
import { chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgliteKind } from "../../../test/support/db.ts";
import { loadConfig } from "../config.ts";
import { type RunningCloud, startCloud } from "../server.ts";

const chromiumPath = ["/usr/bin/chromium", "/usr/bin/chromium-browser"].find((p) => existsSync(p));

describe("/docs", () => {
  let cloud: RunningCloud;
  beforeAll(async () => {
    const database = await pgliteKind.open();
    cloud = await startCloud(
      loadConfig({ PORT: "0", HOST: "127.0.0.1", KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64") }),
      { database, logger: pino({ level: "silent" }) },
    );
  });
  afterAll(async () => {
    await cloud.stop();
    await cloud.database.close();
  });

  it("is self-contained: no external URL, a strict CSP", async () => {
    const res = await fetch(`${cloud.url}/docs`);
    expect(res.status).toBe(200);
    const csp = res.headers.get("content-security-policy")!;
    expect(csp).toContain("default-src 'none'");
    expect(csp).toMatch(/script-src 'sha256-/);
    expect(await res.text()).not.toMatch(/https?:\/\//);
  });

  it.skipIf(!chromiumPath)(
    "renders every operation in a browser",
    async () => {
      const browser = await chromium.launch({ executablePath: chromiumPath, args: ["--no-sandbox"] });
      try {
        const page = await browser.newPage();
        const errors: string[] = [];
        page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
        page.on("pageerror", (e) => errors.push(String(e)));
        await page.goto(`${cloud.url}/docs`);
        await page.waitForSelector("main section");
        const doc = await (await fetch(`${cloud.url}/openapi.json`)).json();
        const operations = Object.values(doc.paths as Record<string, object>).reduce(
          (n, ops) => n + Object.keys(ops).length,
          0,
        );
        expect(await page.locator("main section").count()).toBe(operations);
        expect(await page.locator("main").textContent()).toContain("/v1/licenses/{id}/token");
        expect(errors).toEqual([]);
      } finally {
        await browser.close();
      }
    },
    120_000,
  );
});
