// Releases, channels, rollouts, fleet and webhooks over HTTP on every test database: happy paths, errors, and
// the security cases (no key, wrong role, another organisation, bad body). Mutations are checked in the audit log.
import { createHash } from "node:crypto";
import { eq } from "drizzle-orm";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { appliances, auditLog } from "../../cloud/src/db/schema/index.ts";
import { syncFleetAppliances } from "../../cloud/src/services/fleet.ts";
import { startTestCloud, type TestCloud } from "../support/cloud.ts";
import { testDbKinds } from "../support/db.ts";
import { type Fleet, fakeChart, seedFleet } from "./fixtures.ts";

describe.each(testDbKinds)("rollout API ($name)", (kind) => {
  let t: TestCloud;
  let operator: string;
  let viewer: string;
  let admin: string;
  let otherOperator: string;
  let fleet: Fleet;
  beforeAll(async () => {
    t = await startTestCloud(kind);
    operator = await t.org.key("operator");
    viewer = await t.org.key("viewer");
    admin = t.org.admin;
    otherOperator = await (await t.newOrg("other")).key("operator");
    fleet = await seedFleet(t.deps.db, {
      n: 12,
      customers: 3,
      orgId: t.org.orgId,
      now: t.deps.clock.now(),
      tags: (i) => (i === 0 ? ["eu", "gold"] : ["us"]),
    });
    await t.deps.db.update(appliances).set({ online: false }).where(eq(appliances.id, fleet.applianceIds[11]!));
    await syncFleetAppliances(t.deps.db, t.deps.clock.now());
  });
  afterAll(() => t?.close());

  const auditActions = async (targetId: string) =>
    (await t.deps.db.select().from(auditLog).where(eq(auditLog.targetId, targetId))).map((a) => a.action);

  async function publish(version: string, extra: Record<string, unknown> = {}) {
    const res = await t.call("POST", "/v1/releases", {
      key: operator,
      body: { version, channel: "stable", chartBase64: fakeChart(version), notes: `notes ${version}`, ...extra },
    });
    expect(res.status).toBe(201);
    return res.json();
  }

  describe("releases and channels", () => {
    it("publishes with a digest, lists, reads, serves the chart, refuses a second publication, yanks", async () => {
      const chart = fakeChart("2.0.0");
      const digest = createHash("sha256").update(Buffer.from(chart, "base64")).digest("hex");
      const res = await t.call("POST", "/v1/releases", {
        key: operator,
        body: { version: "2.0.0", channel: "stable", chartBase64: chart, digest, required: true },
      });
      expect(res.status).toBe(201);
      const rel = await res.json();
      expect(rel).toMatchObject({
        version: "2.0.0",
        channel: "stable",
        chartDigest: digest,
        required: true,
        state: "published",
      });
      expect(await auditActions(rel.id)).toEqual(["release.published"]);

      const again = await t.call("POST", "/v1/releases", {
        key: operator,
        body: { version: "2.0.0", channel: "stable", chartBase64: fakeChart("x") },
      });
      expect(again.status).toBe(409);

      const list = await (await t.call("GET", "/v1/releases?channel=stable", { key: viewer })).json();
      expect(list.items.map((r: { id: string }) => r.id)).toContain(rel.id);
      expect((await t.call("GET", `/v1/releases/${rel.id}`, { key: viewer })).status).toBe(200);

      const dl = await t.call("GET", `/v1/releases/${rel.id}/chart`, { key: viewer });
      expect(dl.status).toBe(200);
      expect(dl.headers.get("content-type")).toBe("application/gzip");
      expect(
        createHash("sha256")
          .update(Buffer.from(await dl.arrayBuffer()))
          .digest("hex"),
      ).toBe(digest);

      const yank = await t.call("POST", `/v1/releases/${rel.id}/yank`, { key: operator, body: { reason: "CVE" } });
      expect(yank.status).toBe(200);
      expect(await yank.json()).toMatchObject({ state: "yanked", yankReason: "CVE" });
      expect((await t.call("POST", `/v1/releases/${rel.id}/yank`, { key: operator, body: {} })).status).toBe(409);
      expect(await auditActions(rel.id)).toEqual(expect.arrayContaining(["release.published", "release.yanked"]));
    });

    it("references a chart by URL and digest, redirecting downloads", async () => {
      const res = await t.call("POST", "/v1/releases", {
        key: operator,
        body: {
          version: "2.1.0-rc.1",
          channel: "beta",
          chartUrl: "https://charts.example.com/runner-2.1.0-rc.1.tgz",
          digest: "a".repeat(64),
        },
      });
      expect(res.status).toBe(201);
      const rel = await res.json();
      const dl = await t.call("GET", `/v1/releases/${rel.id}/chart`, { key: viewer });
      expect(dl.status).toBe(302);
      expect(dl.headers.get("location")).toBe("https://charts.example.com/runner-2.1.0-rc.1.tgz");
    });

    it("refuses bad bodies: not semver, no chart, wrong digest, not a tgz, unknown channel, unknown field", async () => {
      const bad = [
        { version: "latest", channel: "stable", chartBase64: fakeChart("1") },
        { version: "3.0.0", channel: "stable" },
        { version: "3.0.0", channel: "stable", chartBase64: fakeChart("1"), digest: "b".repeat(64) },
        { version: "3.0.0", channel: "stable", chartBase64: Buffer.from("plain text").toString("base64") },
        { version: "3.0.0", channel: "stable", chartUrl: "https://x.example/c.tgz" },
        { version: "3.0.0", channel: "stable", chartBase64: fakeChart("1"), extra: 1 },
      ];
      for (const body of bad) {
        const res = await t.call("POST", "/v1/releases", { key: operator, body });
        expect(res.status, JSON.stringify(body)).toBe(400);
      }
      const noChannel = await t.call("POST", "/v1/releases", {
        key: operator,
        body: { version: "3.0.0", channel: "nightly", chartBase64: fakeChart("1") },
      });
      expect(noChannel.status).toBe(422);
    });

    it("lists default channels and adds custom ones (operator), refusing duplicates and bad names", async () => {
      const list = await (await t.call("GET", "/v1/channels", { key: viewer })).json();
      expect(list.items.map((c: { name: string }) => c.name)).toEqual(expect.arrayContaining(["beta", "stable"]));
      const created = await t.call("POST", "/v1/channels", { key: operator, body: { name: "lts-2026" } });
      expect(created.status).toBe(201);
      const ch = await created.json();
      expect(await auditActions(ch.id)).toEqual(["channel.created"]);
      expect((await t.call("POST", "/v1/channels", { key: operator, body: { name: "lts-2026" } })).status).toBe(409);
      expect((await t.call("POST", "/v1/channels", { key: operator, body: { name: "Bad Name" } })).status).toBe(400);
      expect((await t.call("POST", "/v1/channels", { key: viewer, body: { name: "x" } })).status).toBe(403);
    });

    it("is closed to anonymous callers, viewers for writes, and other organisations", async () => {
      const rel = await publish("2.2.0");
      expect((await t.call("GET", "/v1/releases")).status).toBe(401);
      expect((await t.call("GET", "/v1/channels")).status).toBe(401);
      expect(
        (
          await t.call("POST", "/v1/releases", {
            key: viewer,
            body: { version: "9.9.9", channel: "stable", chartBase64: fakeChart("9") },
          })
        ).status,
      ).toBe(403);
      expect((await t.call("POST", `/v1/releases/${rel.id}/yank`, { key: viewer, body: {} })).status).toBe(403);
      expect((await t.call("GET", `/v1/releases/${rel.id}`, { key: otherOperator })).status).toBe(404);
      expect((await t.call("GET", `/v1/releases/${rel.id}/chart`, { key: otherOperator })).status).toBe(404);
      expect((await t.call("POST", `/v1/releases/${rel.id}/yank`, { key: otherOperator, body: {} })).status).toBe(404);
      // the agent download path wants an agent token, never an API key
      expect((await t.call("GET", `/v1/agent/releases/${rel.id}/chart`)).status).toBe(401);
      expect((await t.call("GET", `/v1/agent/releases/${rel.id}/chart`, { key: operator })).status).toBe(401);
    });
  });

  describe("rollouts", () => {
    it("previews, creates, reads, lists, pauses, resumes, aborts; audited", async () => {
      const rel = await publish("3.0.0");
      const body = {
        releaseId: rel.id,
        target: { tags: ["us"] },
        strategy: { canarySize: 1, wavePercent: 50, concurrency: 2, failureBudget: "10%", soakSeconds: 10 },
      };
      const pv = await t.call("POST", "/v1/rollouts/preview", { key: viewer, body });
      expect(pv.status).toBe(200);
      const plan = await pv.json();
      expect(plan.total).toBe(8); // customers 1 and 2 are tagged "us": 8 of 12 appliances
      expect(plan.waves.map((w: { size: number }) => w.size)).toEqual([1, 4, 3]);
      expect(plan.waves[0].canary).toBe(true);

      const created = await t.call("POST", "/v1/rollouts", { key: operator, body: { ...body, name: "3.0.0 to us" } });
      expect(created.status).toBe(201);
      const r = await created.json();
      expect(r).toMatchObject({ name: "3.0.0 to us", state: "running", release: { id: rel.id, version: "3.0.0" } });
      expect(r.waves).toHaveLength(3);
      expect(r.waves[1].counts).toMatchObject({
        pending: 4,
        applying: 0,
        healthy: 0,
        failed: 0,
        timedOut: 0,
        deferred: 0,
        rolledBack: 0,
      });
      expect(r.waves[1].targets[0]).toMatchObject({
        state: "pending",
        applianceName: expect.stringMatching(/^appliance-/),
      });

      expect((await t.call("GET", `/v1/rollouts/${r.id}`, { key: viewer })).status).toBe(200);
      const list = await (await t.call("GET", "/v1/rollouts", { key: viewer })).json();
      expect(list.items[0]).toMatchObject({ id: r.id, total: 8, version: "3.0.0" });

      const paused = await t.call("POST", `/v1/rollouts/${r.id}/pause`, { key: operator, body: { reason: "wait" } });
      expect(paused.status).toBe(200);
      expect((await paused.json()).state).toBe("paused");
      expect((await t.call("POST", `/v1/rollouts/${r.id}/pause`, { key: operator })).status).toBe(409);
      expect((await (await t.call("POST", `/v1/rollouts/${r.id}/resume`, { key: operator })).json()).state).toBe(
        "running",
      );
      expect((await t.call("POST", `/v1/rollouts/${r.id}/retry`, { key: operator })).status).toBe(409); // nothing failed
      const aborted = await (await t.call("POST", `/v1/rollouts/${r.id}/abort`, { key: operator })).json();
      expect(aborted.state).toBe("aborted");
      expect(aborted.counts.skipped).toBe(8);
      expect(await auditActions(r.id)).toEqual(
        expect.arrayContaining(["rollout.created", "rollout.paused", "rollout.running", "rollout.aborted"]),
      );
    });

    it("refuses yanked releases, empty targets, other organisations' releases, and bad strategies", async () => {
      const rel = await publish("3.1.0");
      const yanked = await publish("3.1.1");
      await t.call("POST", `/v1/releases/${yanked.id}/yank`, { key: operator, body: {} });
      const base = { name: "x", target: {}, strategy: {} };
      expect(
        (await t.call("POST", "/v1/rollouts", { key: operator, body: { ...base, releaseId: yanked.id } })).status,
      ).toBe(409);
      expect(
        (
          await t.call("POST", "/v1/rollouts", {
            key: operator,
            body: { ...base, releaseId: rel.id, target: { tags: ["nobody"] } },
          })
        ).status,
      ).toBe(422);
      expect(
        (await t.call("POST", "/v1/rollouts", { key: otherOperator, body: { ...base, releaseId: rel.id } })).status,
      ).toBe(422);
      for (const strategy of [
        { canarySize: -1 },
        { wavePercent: 0 },
        { failureBudget: "lots" },
        { concurrency: 0 },
        { bogus: 1 },
      ]) {
        const res = await t.call("POST", "/v1/rollouts", {
          key: operator,
          body: { ...base, releaseId: rel.id, strategy },
        });
        expect(res.status, JSON.stringify(strategy)).toBe(400);
      }
      expect((await t.call("POST", "/v1/rollouts", { key: operator, body: { releaseId: rel.id } })).status).toBe(400); // no name
      expect(
        (
          await t.call("POST", "/v1/rollouts/preview", {
            key: operator,
            body: { releaseId: rel.id, target: { applianceIds: ["nope"] } },
          })
        ).status,
      ).toBe(400);
    });

    it("is closed to anonymous callers, viewers for writes, and other organisations", async () => {
      const rel = await publish("3.2.0");
      const created = await (
        await t.call("POST", "/v1/rollouts", {
          key: operator,
          body: { name: "sec", releaseId: rel.id, target: { customerIds: [fleet.customerIds[0]] } },
        })
      ).json();
      expect((await t.call("GET", "/v1/rollouts")).status).toBe(401);
      expect((await t.call("POST", "/v1/rollouts/preview", { body: { releaseId: rel.id } })).status).toBe(401);
      expect(
        (await t.call("POST", "/v1/rollouts", { key: viewer, body: { name: "v", releaseId: rel.id } })).status,
      ).toBe(403);
      expect((await t.call("POST", `/v1/rollouts/${created.id}/pause`, { key: viewer })).status).toBe(403);
      expect((await t.call("GET", `/v1/rollouts/${created.id}`, { key: otherOperator })).status).toBe(404);
      expect((await t.call("POST", `/v1/rollouts/${created.id}/abort`, { key: otherOperator })).status).toBe(404);
      expect((await t.call("POST", `/v1/rollouts/${created.id}/explode`, { key: operator })).status).toBe(400);
      const other = await (await t.call("GET", "/v1/rollouts", { key: otherOperator })).json();
      expect(other.items).toEqual([]);
    });
  });

  describe("fleet", () => {
    it("lists with filters, search, sorts and keyset pages", async () => {
      const all = await (await t.call("GET", "/v1/fleet/appliances?limit=200", { key: viewer })).json();
      expect(all.items).toHaveLength(12);
      expect(all.items[0]).toMatchObject({
        name: "appliance-000",
        customer: { id: fleet.customerIds[0] },
        status: "online",
        channel: "stable",
        kubernetesVersion: "v1.31.4+k3s1",
        tags: ["eu", "gold"],
        pinnedReleaseId: null,
      });
      const offline = await (await t.call("GET", "/v1/fleet/appliances?status=offline", { key: viewer })).json();
      expect(offline.items.map((a: { id: string }) => a.id)).toEqual([fleet.applianceIds[11]]);
      const gold = await (await t.call("GET", "/v1/fleet/appliances?tag=gold", { key: viewer })).json();
      expect(gold.items).toHaveLength(4);
      const byCustomer = await (
        await t.call("GET", `/v1/fleet/appliances?customerId=${fleet.customerIds[1]}`, { key: viewer })
      ).json();
      expect(byCustomer.items).toHaveLength(4);
      const search = await (await t.call("GET", "/v1/fleet/appliances?q=appliance-01", { key: viewer })).json();
      expect(search.items.map((a: { name: string }) => a.name)).toEqual(["appliance-010", "appliance-011"]);
      const k8s = await (await t.call("GET", "/v1/fleet/appliances?k8sVersion=v1.30.0", { key: viewer })).json();
      expect(k8s.items).toEqual([]);

      // keyset pages in both directions of each sort cover everyone exactly once
      for (const sort of ["name", "-name", "lastSeen", "-lastSeen", "version", "-version"]) {
        const seen: string[] = [];
        let cursor: string | null = null;
        do {
          const q: string = `/v1/fleet/appliances?sort=${sort}&limit=5${cursor ? `&cursor=${cursor}` : ""}`;
          const page = await (await t.call("GET", q, { key: viewer })).json();
          seen.push(...page.items.map((a: { id: string }) => a.id));
          cursor = page.nextCursor;
        } while (cursor);
        expect(new Set(seen).size, sort).toBe(12);
        expect(seen, sort).toHaveLength(12);
      }
      const desc = await (await t.call("GET", "/v1/fleet/appliances?sort=-name&limit=1", { key: viewer })).json();
      expect(desc.items[0].name).toBe("appliance-011");
    });

    it("summarises, pins with audit, shows a timeline, and refuses bad input", async () => {
      const summary = await (await t.call("GET", "/v1/fleet/summary", { key: viewer })).json();
      expect(summary).toMatchObject({ total: 12, online: 11, offline: 1, degraded: 0 });
      expect(summary.byChannel).toEqual([{ channel: "stable", count: 12 }]);

      const rel = await publish("4.0.0");
      const id = fleet.applianceIds[2]!;
      const pin = await t.call("POST", `/v1/appliances/${id}/pin`, { key: operator, body: { releaseId: rel.id } });
      expect(pin.status).toBe(200);
      expect(await pin.json()).toMatchObject({ applianceId: id, pinnedReleaseId: rel.id, desiredGeneration: 1 });
      const listed = await (await t.call("GET", `/v1/fleet/appliances?q=${id}`, { key: viewer })).json();
      expect(listed.items[0].pinnedReleaseId).toBe(rel.id);
      const unpin = await t.call("POST", `/v1/appliances/${id}/pin`, { key: operator, body: { releaseId: null } });
      expect((await unpin.json()).pinnedReleaseId).toBeNull();
      expect(await auditActions(id)).toEqual(expect.arrayContaining(["appliance.pinned", "appliance.unpinned"]));

      const tl = await t.call("GET", `/v1/fleet/appliances/${fleet.applianceIds[0]}/timeline`, { key: viewer });
      expect(tl.status).toBe(200);
      const timeline = await tl.json();
      expect(
        timeline.items.every((i: { kind: string }) => ["event", "version", "rollout", "command"].includes(i.kind)),
      ).toBe(true);

      expect((await t.call("GET", "/v1/fleet/appliances?status=sleepy", { key: viewer })).status).toBe(400);
      expect((await t.call("GET", "/v1/fleet/appliances?cursor=garbage", { key: viewer })).status).toBe(400);
      expect((await t.call("GET", "/v1/fleet/appliances?limit=100000", { key: viewer })).status).toBe(400);
      expect((await t.call("POST", `/v1/appliances/${id}/pin`, { key: operator, body: { release: "x" } })).status).toBe(
        400,
      );
      expect(
        (await t.call("POST", `/v1/appliances/${id}/pin`, { key: operator, body: { releaseId: "rel_nope" } })).status,
      ).toBe(422);
    });

    it("is closed to anonymous callers, viewers for pins, and other organisations", async () => {
      const id = fleet.applianceIds[0]!;
      expect((await t.call("GET", "/v1/fleet/appliances")).status).toBe(401);
      expect((await t.call("GET", "/v1/fleet/summary")).status).toBe(401);
      expect((await t.call("GET", `/v1/fleet/appliances/${id}/timeline`)).status).toBe(401);
      expect(
        (await t.call("POST", `/v1/appliances/${id}/pin`, { key: viewer, body: { releaseId: null } })).status,
      ).toBe(403);
      expect(
        (await t.call("POST", `/v1/appliances/${id}/pin`, { key: otherOperator, body: { releaseId: null } })).status,
      ).toBe(404);
      expect((await t.call("GET", `/v1/fleet/appliances/${id}/timeline`, { key: otherOperator })).status).toBe(404);
      const other = await (await t.call("GET", "/v1/fleet/appliances", { key: otherOperator })).json();
      expect(other.items).toEqual([]);
      expect((await (await t.call("GET", "/v1/fleet/summary", { key: otherOperator })).json()).total).toBe(0);
    });
  });

  describe("webhooks", () => {
    it("registers (admin), shows the secret once, lists, disables, shows deliveries; audited", async () => {
      const res = await t.call("POST", "/v1/webhooks", {
        key: admin,
        body: { url: "https://hooks.example.com/camel", events: ["rollout.halted", "upgrade.failed"] },
      });
      expect(res.status).toBe(201);
      const hook = await res.json();
      expect(hook.secret).toMatch(/^whsec_/);
      const list = await (await t.call("GET", "/v1/webhooks", { key: viewer })).json();
      expect(list.items[0]).not.toHaveProperty("secret");
      expect(list.items[0]).toMatchObject({ id: hook.id, active: true });
      const off = await t.call("POST", `/v1/webhooks/${hook.id}/disable`, { key: admin });
      expect((await off.json()).active).toBe(false);
      const dl = await t.call("GET", `/v1/webhooks/${hook.id}/deliveries`, { key: viewer });
      expect(dl.status).toBe(200);
      expect((await dl.json()).items).toEqual([]);
      expect(await auditActions(hook.id)).toEqual(expect.arrayContaining(["webhook.created", "webhook.disabled"]));
    });

    it("refuses bad bodies, and is closed to anonymous callers, lower roles and other organisations", async () => {
      expect(
        (
          await t.call("POST", "/v1/webhooks", {
            key: admin,
            body: { url: "ftp://x.example", events: ["rollout.halted"] },
          })
        ).status,
      ).toBe(400);
      expect(
        (await t.call("POST", "/v1/webhooks", { key: admin, body: { url: "https://x.example", events: ["nope"] } }))
          .status,
      ).toBe(400);
      expect(
        (await t.call("POST", "/v1/webhooks", { key: admin, body: { url: "https://x.example", events: [] } })).status,
      ).toBe(400);
      const hook = await (
        await t.call("POST", "/v1/webhooks", {
          key: admin,
          body: { url: "https://x.example/h", events: ["license.expiring"] },
        })
      ).json();
      expect((await t.call("GET", "/v1/webhooks")).status).toBe(401);
      expect(
        (
          await t.call("POST", "/v1/webhooks", {
            key: operator,
            body: { url: "https://x.example", events: ["rollout.halted"] },
          })
        ).status,
      ).toBe(403);
      expect((await t.call("GET", `/v1/webhooks/${hook.id}/deliveries`, { key: otherOperator })).status).toBe(404);
      expect((await t.call("POST", `/v1/webhooks/${hook.id}/disable`, { key: operator })).status).toBe(403);
    });
  });
});
