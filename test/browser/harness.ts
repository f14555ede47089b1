// Browser-test harness: a real cloud on an ephemeral port (PGlite in memory) serving the fleet UI, and Debian's
// chromium driven by playwright-core with a fresh profile. Screenshots go to test/browser/screenshots/latest/.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type BrowserContext, chromium, type Page } from "playwright-core";
import { loadConfig } from "../../cloud/src/config.ts";
import { openDatabase } from "../../cloud/src/db/client.ts";
import type { Router } from "../../cloud/src/lib/create-router.ts";
import { attachScheduler, rolloutRouters } from "../../cloud/src/rollouts/index.ts";
import { type AttachHook, type RunningCloud, startCloud } from "../../cloud/src/server.ts";
import { attachTunnel, tunnelRouters } from "../../cloud/src/tunnel/index.ts";

export const CHROMIUM = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";
export const SCREENSHOT_DIR = join(import.meta.dirname, "screenshots", "latest");

export interface UiCloud {
  cloud: RunningCloud;
  url: string;
  /** the bootstrap organisation's admin key */
  adminKey: string;
  /** fetch against the API with a Bearer key; throws with the server's message on an error status */
  // biome-ignore lint/suspicious/noExplicitAny: API bodies are JSON the test inspects freely
  api<T = any>(method: string, path: string, body?: unknown, key?: string): Promise<T>;
  stop(): Promise<void>;
}

/** Gateway timings for tests: quick heartbeats so that a stopped agent shows offline within seconds. */
const fastTunnel = {
  heartbeatMs: 200,
  deadAfterMs: 2_000,
  stateCheckMs: 300,
  sweepMs: 200,
  closeTimeoutMs: 500,
  admission: { ratePerSec: 100_000, burst: 100_000, retryAfterMs: [50, 200] as [number, number] },
  ingest: { flushMs: 20 },
};

export async function startUiCloud(
  opts: {
    env?: Record<string, string>;
    routers?: Router[];
    attach?: AttachHook[];
    /** mount the tunnel (enroll, appliances, commands) and run the gateway */
    tunnel?: boolean;
    /** mount releases, rollouts and fleet, and run the scheduler (rollout engine, fleet sync) */
    rollouts?: boolean;
  } = {},
): Promise<UiCloud> {
  const dataDir = mkdtempSync(join(tmpdir(), "camelops-ui-"));
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: dataDir,
    LOG_LEVEL: process.env.UI_TEST_LOG_LEVEL ?? "silent",
    KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
    ...opts.env,
  });
  const database = await openDatabase({ inMemory: true });
  const cloud = await startCloud(config, {
    database,
    routers: [...(opts.tunnel ? tunnelRouters : []), ...(opts.rollouts ? rolloutRouters : []), ...(opts.routers ?? [])],
    attach: [
      ...(opts.tunnel ? [attachTunnel({ ...fastTunnel, onStop: "close" })] : []),
      ...(opts.rollouts ? [attachScheduler({ intervalMs: 250, fleetSyncEveryMs: 500 })] : []),
      ...(opts.attach ?? []),
    ],
  });
  const adminKey = cloud.bootstrap?.secret;
  if (!adminKey) throw new Error("the test cloud did not bootstrap an organisation");
  const api = async (method: string, path: string, body?: unknown, key = adminKey) => {
    const res = await fetch(cloud.url + path, {
      method,
      headers: {
        authorization: `Bearer ${key}`,
        ...(body === undefined ? {} : { "content-type": "application/json" }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await res.text();
    const data = text ? JSON.parse(text) : null;
    if (!res.ok) throw new Error(`${method} ${path} → ${res.status}: ${data?.error?.message ?? text}`);
    return data;
  };
  return {
    cloud,
    url: cloud.url,
    adminKey,
    api,
    async stop() {
      await cloud.stop();
      await database.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface UiBrowser {
  context: BrowserContext;
  page: Page;
  /** console errors, page errors and CSP violations seen so far */
  problems: string[];
  shot(name: string): Promise<string>;
  close(): Promise<void>;
}

export async function openBrowser(opts: { viewport?: { width: number; height: number } } = {}): Promise<UiBrowser> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `no browser at ${CHROMIUM}: run \`apt-get install -y chromium\` (CI's .ci/run does) or set CHROMIUM_PATH`,
    );
  }
  const profile = mkdtempSync(join(tmpdir(), "camelops-chromium-"));
  mkdirSync(SCREENSHOT_DIR, { recursive: true });
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
    ],
    viewport: opts.viewport ?? { width: 1440, height: 900 },
    timeout: 30_000,
  });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  const page = context.pages()[0] ?? (await context.newPage());
  const problems: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console: ${m.text()}`);
  });
  page.on("pageerror", (e) => problems.push(`pageerror: ${e.message}`));
  // Any request leaving the test cloud would mean a CDN or other download: record it.
  page.on("request", (r) => {
    const u = new URL(r.url());
    if (!["127.0.0.1", "localhost"].includes(u.hostname) && u.protocol !== "data:")
      problems.push(`external request: ${r.url()}`);
  });
  await context.addInitScript(() => {
    document.addEventListener("securitypolicyviolation", (e) => {
      console.error(`CSP violation: ${e.violatedDirective} ${e.blockedURI}`);
    });
  });
  return {
    context,
    page,
    problems,
    async shot(name) {
      const file = join(SCREENSHOT_DIR, `${name}.png`);
      // From the top, so that the sticky header sits where it belongs in a full-page capture.
      await page.evaluate(() => window.scrollTo(0, 0));
      await page.screenshot({ path: file, fullPage: true, animations: "disabled", timeout: 10_000 });
      return file;
    },
    async close() {
      await context.close();
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Signs in through the UI with the given key and waits for the fleet page. */
export async function signIn(page: Page, baseUrl: string, key: string, path = "/") {
  await page.goto(baseUrl + path);
  await page.getByLabel("API key").fill(key);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("button", { name: "Sign out" }).waitFor();
}
