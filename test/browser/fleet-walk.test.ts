// The walk in a real browser against a real cloud and real agents on simulated clusters: sign in, the
// fleet page, filter, open an appliance (telemetry chart, a support command), create a rollout from the wave
// preview, watch it halt on the canary that misses its progress deadline, resume it once the canary turned out
// healthy after all, see the offline appliance deferred and caught up on its return, and the rollout complete.
// Bounded: every wait has its own timeout; the hooks and tests allow for a loaded 2-core machine (start-up ~20-80 s).
import { readFile } from "node:fs/promises";
import { gunzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Agent, createAgent } from "../../agent/src/agent.ts";
import { MemoryKeyStore } from "../../agent/src/keystore.ts";
import { createSimCluster, SIM_POD, type SimCluster } from "../../agent/src/sim-cluster.ts";
import { MemoryStateStore } from "../../agent/src/state-store.ts";
import { openBrowser, signIn, startUiCloud, type UiBrowser, type UiCloud } from "./harness.ts";

const APPLIANCES = [
  { name: "berlin-hub", customer: 0 },
  { name: "munich-hub", customer: 0 },
  { name: "lyon-hub", customer: 1 },
  { name: "paris-hub", customer: 1 },
];

describe("fleet walk (chromium, real agents)", () => {
  let t: UiCloud;
  let b: UiBrowser;
  const agents: Agent[] = [];
  const sims: SimCluster[] = [];
  const makeAgent = (i: number) =>
    createAgent({
      cloudUrl: t.url,
      licenseToken: tokens[i]!,
      keyStore: keyStores[i]!,
      stateStore: stateStores[i]!,
      cluster: sims[i]!,
      name: APPLIANCES[i]!.name,
      telemetryIntervalMs: 300,
      backoff: { baseMs: 50, maxMs: 500 },
    });
  const tokens: string[] = [];
  const keyStores = APPLIANCES.map(() => new MemoryKeyStore());
  const stateStores = APPLIANCES.map(() => new MemoryStateStore());
  /** the canary's upgrade takes longer than the rollout's progress deadline (10 s, the minimum) */
  const SLOW_APPLY_MS = 12_000;

  beforeAll(async () => {
    t = await startUiCloud({ tunnel: true, rollouts: true });
    const customers = [];
    for (const name of ["ACME Logistics", "Globex Retail"]) {
      customers.push(await t.api("POST", "/v1/customers", { name, tags: ["eu"] }));
    }
    // One license per appliance: a license admits one hub.
    for (const a of APPLIANCES) {
      const lic = await t.api("POST", "/v1/licenses", {
        customerId: customers[a.customer].id,
        expiresAt: new Date(Date.now() + 365 * 86_400_000).toISOString(),
        entitlements: { maxWorkerNodes: 3, updateChannel: "stable" },
        notes: a.name,
      });
      tokens.push((await t.api("GET", `/v1/licenses/${lic.id}/token`)).token);
    }
    for (const i of APPLIANCES.keys()) {
      sims.push(
        createSimCluster({
          seed: i + 1,
          applyDelayMs: SLOW_APPLY_MS,
          cloudFetch: (url, init) => agents[i]!.cloudFetch(url, init),
        }),
      );
      agents.push(makeAgent(i));
    }
    await Promise.all(agents.map((a) => a.start()));
    await Promise.all(agents.map((a) => a.whenConnected(15_000)));
    const release = await t.api("POST", "/v1/releases", {
      version: "1.5.0",
      channel: "stable",
      chartUrl: "https://charts.example.invalid/runner-1.5.0.tgz",
      digest: "a".repeat(64),
      notes: "Camel 4.10, OTel 0.120",
    });
    expect(release.id).toMatch(/^rel_/);
    b = await openBrowser();
  }, 180_000);

  afterAll(async () => {
    await b?.close();
    await Promise.allSettled(agents.map((a) => a.stop()));
    await t?.stop();
  });

  it("shows the fleet live, filters it and opens an appliance with its telemetry and commands", async () => {
    const { page } = b;
    await signIn(page, t.url, t.adminKey, "/fleet");
    const table = page.getByTestId("fleet-table");
    await expect.poll(() => table.locator("tbody tr[data-status='online']").count(), { timeout: 15_000 }).toBe(4);
    expect(await page.getByTestId("summary-online").textContent()).toBe("4");
    await b.shot("10-fleet");

    // Filter by customer, then by search ("/" focuses the search box).
    await page.getByLabel("Customer", { exact: true }).selectOption({ label: "Globex Retail" });
    await expect.poll(() => table.locator("tbody tr").count()).toBe(2);
    expect(page.url()).toContain("customerId=");
    await page.getByLabel("Customer", { exact: true }).selectOption({ label: "Any" });
    await page.locator("body").press("/");
    await page.keyboard.type("berlin");
    await expect.poll(() => table.locator("tbody tr").count()).toBe(1);
    await b.shot("11-fleet-filtered");

    // An appliance going offline shows up without a reload.
    await agents[3]!.stop();
    await page.getByLabel("Search").fill("");
    await expect.poll(() => table.locator("tbody tr[data-status='offline']").count(), { timeout: 20_000 }).toBe(1);

    await page.getByLabel("Search").fill("berlin");
    await page.getByRole("link", { name: "berlin-hub" }).click();
    await page.getByRole("heading", { level: 1, name: /berlin-hub/ }).waitFor();
    await page.locator(".chart canvas").first().waitFor({ timeout: 15_000 });
    await page.getByRole("button", { name: "Workloads", exact: true }).click();
    const cmdRow = page.getByTestId("commands-table").locator("tbody tr").filter({ hasText: "support.workloads" });
    await expect.poll(() => cmdRow.textContent(), { timeout: 15_000 }).toContain("succeeded");
    await expect
      .poll(() => page.locator(".timeline li").filter({ hasText: "support.workloads" }).count(), { timeout: 10_000 })
      .toBeGreaterThan(0);
    await b.shot("12-appliance");

    // Follow a pod's log live through the tunnel, then stop it.
    await page.getByLabel("Pod", { exact: true }).fill(SIM_POD);
    await page.getByRole("button", { name: "Follow" }).click();
    const view = page.getByTestId("log-view");
    await expect.poll(() => view.textContent(), { timeout: 20_000 }).toContain("exchange 3 completed");
    await b.shot("13-log-follow");
    await page.getByRole("button", { name: "Stop following" }).click();
    await expect
      .poll(() => page.getByTestId("logs").getByRole("status").textContent(), { timeout: 15_000 })
      .toContain("ended: cancelled by an operator");
    const lines = (await view.textContent())!.trim().split("\n");
    expect(lines.every((l, i) => l.includes(`exchange ${i} completed`))).toBe(true);

    // A support bundle: collected and uploaded by the agent, downloaded from the commands table.
    await page.getByRole("button", { name: "Support bundle" }).click();
    const bundleRow = page.getByTestId("commands-table").locator("tbody tr").filter({ hasText: "support.bundle" });
    await expect.poll(() => bundleRow.textContent(), { timeout: 15_000 }).toContain("succeeded");
    const [download] = await Promise.all([
      page.waitForEvent("download", { timeout: 15_000 }),
      bundleRow.getByRole("button", { name: "Download bundle" }).click(),
    ]);
    expect(download.suggestedFilename()).toMatch(/^support-bundle-apl_.*\.json\.gz$/);
    const saved = await readFile((await download.path())!);
    expect(JSON.parse(gunzipSync(saved).toString("utf8"))).toMatchObject({ kind: "camel-ops-support-bundle" });
  }, 120_000);

  it("creates a rollout from the wave preview, watches it halt and resumes it to completion", async () => {
    const { page } = b;
    await page.keyboard.press("g");
    await page.keyboard.press("r");
    await page.getByRole("heading", { level: 1, name: "Rollouts" }).waitFor();
    await page.getByRole("link", { name: "New rollout" }).click();
    await page.getByRole("heading", { level: 1, name: "New rollout" }).waitFor();
    await page.getByLabel("Name", { exact: true }).fill("stable 1.5.0");
    await page.getByLabel("Release", { exact: true }).selectOption({ label: "1.5.0 · stable" });
    await page.getByLabel("Soak time (s)").fill("1");
    await page.getByLabel("Progress deadline (s)").fill("10");
    await page.getByLabel("Wave size (%)").fill("50");
    const preview = page.getByTestId("wave-preview");
    await expect.poll(() => preview.textContent(), { timeout: 10_000 }).toMatch(/4 appliances in 3 waves/);
    await b.shot("20-rollout-preview");

    await page.getByRole("button", { name: "Start rollout" }).click();
    await page.getByRole("heading", { level: 1, name: /stable 1\.5\.0/ }).waitFor();
    const rolloutId = page.url().split("/").pop()!;
    const dump = async () => JSON.stringify(await t.api("GET", `/v1/rollouts/${rolloutId}`), null, 1);
    try {
      // The canary misses its 10 s deadline: timed out counts against the canary's budget of 0, so it halts.
      const halt = page.getByTestId("halt-reason");
      await halt.waitFor({ timeout: 30_000 });
      expect(await halt.textContent()).toMatch(/wave 0 \(canary\): 1 failed/);
      await expect.poll(() => page.getByTestId("wave-0").textContent()).toMatch(/timed-out/);
      await b.shot("21-rollout-halted");
      expect(await page.locator("#live-assertive").textContent()).toMatch(/halted/);

      // The operator looks: the canary's upgrade did finish healthy, just late. Later upgrades are quick.
      for (const sim of sims) sim.options.applyDelayMs = 200;
      const canaryId = (await t.api("GET", `/v1/rollouts/${rolloutId}`)).waves[0].targets[0].applianceId;
      await expect
        .poll(async () => (await t.api("GET", `/v1/appliances/${canaryId}`)).lastApply?.outcome, { timeout: 15_000 })
        .toBe("healthy");
      // A plain "Resume" is not offered: the failed canary would halt it again at once.
      expect(await page.getByRole("button", { name: "Resume", exact: true }).count()).toBe(0);
      await page.getByRole("button", { name: "Retry failed and resume" }).click();
      await expect.poll(() => page.locator("h1 .badge").textContent(), { timeout: 10_000 }).toMatch(/running/);
      // paris-hub is offline: deferred, not failed; the waves complete without it and it catches up when it returns.
      await expect.poll(() => page.locator("tr[data-state='deferred']").count(), { timeout: 30_000 }).toBe(1);
      await b.shot("22-rollout-resumed-deferred");
      agents[3] = makeAgent(3);
      await agents[3].start();
      await expect.poll(() => page.locator("h1 .badge").textContent(), { timeout: 45_000 }).toMatch(/completed/);
      await expect.poll(() => page.locator("tr[data-state='healthy']").count(), { timeout: 45_000 }).toBe(4);
    } catch (err) {
      await b.shot("2x-rollout-failure");
      throw new Error(`${(err as Error).message}\nrollout: ${await dump()}`);
    }
    await b.shot("23-rollout-completed");

    // The lists: the rollout with its progress, and the release it shipped.
    await page.keyboard.press("g");
    await page.keyboard.press("r");
    const rolloutRow = page.getByTestId("rollouts-table").locator("tbody tr").filter({ hasText: "stable 1.5.0" });
    await expect.poll(() => rolloutRow.textContent(), { timeout: 10_000 }).toMatch(/completed.*4 \/ 4 healthy/);
    await page.keyboard.press("g");
    await page.keyboard.press("e");
    const releaseRow = page.getByTestId("releases-table").locator("tbody tr").filter({ hasText: "1.5.0" });
    await expect.poll(() => releaseRow.textContent(), { timeout: 10_000 }).toMatch(/stable.*published/);
    await b.shot("24-releases");
    expect(b.problems.filter((p) => !/401|Failed to load resource/.test(p))).toEqual([]);
  }, 180_000);
});
