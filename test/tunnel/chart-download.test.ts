// The agent downloads a release's chart from the cloud with its own short-lived JWT; nobody else can.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { pgliteKind, type TestDatabase } from "../support/db.ts";
import { issueLicense, makeAgent, startTunnelCloud, type TunnelCloud } from "./harness.ts";

describe("chart download by the agent", () => {
  let database: TestDatabase;
  let tc: TunnelCloud;
  beforeAll(async () => {
    database = await pgliteKind.open();
    tc = await startTunnelCloud({ database });
  });
  afterAll(async () => {
    await tc?.stop();
    await database?.close();
  });

  it("serves the archive to the enrolled agent's cloudFetch, byte for byte, and refuses anonymous callers", async () => {
    const archive = gzipSync(Buffer.from("a chart archive stand-in: the cloud stores bytes, helm reads them"));
    const release = await tc.api("POST", "/v1/releases", {
      version: "1.2.3",
      channel: "stable",
      chartBase64: archive.toString("base64"),
    });
    const { token } = await issueLicense(tc);
    const a = makeAgent(tc.url, token);
    await a.agent.start();
    try {
      await a.agent.whenConnected(15_000);
      const url = `${tc.url}/v1/agent/releases/${release.id}/chart`;

      const anonymous = await fetch(url);
      expect(anonymous.status).toBe(401);

      const res = await a.agent.cloudFetch(url);
      expect(res.status).toBe(200);
      const body = Buffer.from(await res.arrayBuffer());
      expect(createHash("sha256").update(body).digest("hex")).toBe(createHash("sha256").update(archive).digest("hex"));
    } finally {
      await a.agent.stop();
    }
  });
});
