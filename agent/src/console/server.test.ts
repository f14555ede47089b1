import { afterAll, beforeAll, expect, it } from "vitest";
import { type ConsoleSource, createConsoleHandler, createProbeHandler, listen } from "./server.ts";

let ready = false;
const src: ConsoleSource = {
  healthy: () => true,
  ready: () => ready,
  linked: () => false,
  metrics: () => ({ camel_ops_agent_connected: { value: 0, help: "tunnel live" } }),
  status: () => ({ release: { revision: 3, status: "deployed" }, note: "<script>" }),
};
let probes: Awaited<ReturnType<typeof listen>>;
let consoleSrv: Awaited<ReturnType<typeof listen>>;
beforeAll(async () => {
  probes = await listen(createProbeHandler(src), 0, "127.0.0.1");
  consoleSrv = await listen(createConsoleHandler(src, { username: "admin", password: "pw" }), 0, "127.0.0.1");
});
afterAll(async () => {
  await probes.close();
  await consoleSrv.close();
});

it("answers the probes and metrics", async () => {
  const base = `http://127.0.0.1:${probes.port}`;
  expect((await fetch(`${base}/healthz`)).status).toBe(200);
  expect((await fetch(`${base}/readyz`)).status).toBe(503);
  ready = true;
  expect((await fetch(`${base}/readyz`)).status).toBe(200);
  const link = await fetch(`${base}/linkz`);
  expect(link.status).toBe(503);
  expect(await link.json()).toEqual({ connected: false, state: "disconnected" });
  const m = await (await fetch(`${base}/metrics`)).text();
  expect(m).toContain("# TYPE camel_ops_agent_connected gauge\ncamel_ops_agent_connected 0");
  expect(m).toMatch(/process_resident_memory_bytes \d+/);
  expect((await fetch(`${base}/metrics`, { method: "POST" })).status).toBe(405);
});

it("guards the console with basic auth and escapes what it shows", async () => {
  const base = `http://127.0.0.1:${consoleSrv.port}`;
  expect((await fetch(`${base}/`)).status).toBe(401);
  const bad = Buffer.from("admin:nope").toString("base64");
  expect((await fetch(`${base}/`, { headers: { authorization: `Basic ${bad}` } })).status).toBe(401);
  const good = { authorization: `Basic ${Buffer.from("admin:pw").toString("base64")}` };
  const page = await (await fetch(`${base}/`, { headers: good })).text();
  expect(page).toContain("deployed");
  expect(page).not.toContain("<script>");
  const json = await (await fetch(`${base}/api/status`, { headers: good })).json();
  expect(json.release.revision).toBe(3);
});
