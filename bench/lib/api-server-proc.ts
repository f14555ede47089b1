// S5's servers in their own process: `node` (bare node:http), `hono` (the same route in Hono on @hono/node-server),
// or `cloud` (startCloud with the tunnel routers on Postgres when BENCH_DB_URL is set, else on PGlite).

import { mkdtempSync } from "node:fs";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { serve } from "@hono/node-server";
import { eq } from "drizzle-orm";
import { Hono } from "hono";
import { calculateJwkThumbprint } from "jose";
import pino from "pino";
import { generateAgentKey } from "../../agent/src/keystore.ts";
import { loadConfig } from "../../cloud/src/config.ts";
import { appliances, licenses } from "../../cloud/src/db/schema/index.ts";
import { startCloud } from "../../cloud/src/server.ts";
import { attachTunnel, tunnelRouters } from "../../cloud/src/tunnel/index.ts";
import { newId } from "../../shared/src/ids.ts";
import { issueLicense } from "../../test/tunnel/harness.ts";

const kind = process.argv[2];
let port = 0;
let extra: Record<string, unknown> = {};

if (kind === "node") {
  const s = createServer((_req, res) => {
    res.writeHead(200, { "content-type": "text/plain; charset=UTF-8", "content-length": "2" });
    res.end("ok");
  });
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", r));
  port = (s.address() as AddressInfo).port;
} else if (kind === "hono") {
  const app = new Hono();
  app.get("/", (c) => c.text("ok"));
  port = await new Promise<number>((r) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => r(info.port));
    void s;
  });
} else {
  const config = loadConfig({
    PORT: "0",
    HOST: "127.0.0.1",
    DATA_DIR: mkdtempSync(join(tmpdir(), "bench-api-")),
    LOG_LEVEL: "silent",
    KEY_ENCRYPTION_KEY: Buffer.alloc(32, 7).toString("base64"),
    ...(process.env.BENCH_DB_URL ? { DATABASE_URL: process.env.BENCH_DB_URL } : {}),
  });
  const cloud = await startCloud(config, {
    logger: pino({ level: "silent" }),
    routers: tunnelRouters,
    attach: [attachTunnel({ onStop: "close" })],
  });
  port = cloud.port;
  const adminKey = cloud.bootstrap!.secret;
  // A fleet to list: a license through the API, then appliances in bulk with the columns enrollment writes.
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(cloud.url + path, {
      method,
      headers: { authorization: `Bearer ${adminKey}`, "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${await res.text()}`);
    return res.json();
  };
  const { licenseId } = await issueLicense({ api }, { maxHubs: 100 });
  const [lic] = await cloud.database.db.select().from(licenses).where(eq(licenses.id, licenseId));
  const seed = Number(process.env.BENCH_SEED ?? 1000);
  for (let i = 0; i < seed; i += 500) {
    const rows = [];
    for (let j = i; j < Math.min(seed, i + 500); j++) {
      const key = generateAgentKey();
      rows.push({
        id: newId("appliance"),
        orgId: lic!.orgId,
        customerId: lic!.customerId,
        licenseId,
        name: `bench-${j}`,
        publicKey: key.publicJwk,
        keyThumbprint: await calculateJwkThumbprint(key.publicJwk),
        online: j % 3 !== 0,
        lastSeenAt: new Date(),
      });
    }
    await cloud.database.db.insert(appliances).values(rows);
  }
  extra = { adminKey, url: cloud.url, seeded: seed, database: cloud.database.kind };
}
process.send!({ op: "listening", port, ...extra });
process.on("disconnect", () => process.exit(0));
