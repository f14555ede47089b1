// Tunnel benchmark (issue 3): server memory per connected agent and telemetry frames per second, ours (gateway +
// batched ingest into the database) next to a bare `ws` server measured in the same run, each in its own child
// process; clients are lightweight link clients in this process (the same frames for both servers).
//   npx tsx bench/tunnel.ts [--agents 500] [--seconds 5]      (BENCH_TUNNEL_DATABASE_URL=postgres://... for Postgres)
import { type ChildProcess, fork } from "node:child_process";
import { createPrivateKey } from "node:crypto";
import { mkdirSync, writeFileSync } from "node:fs";
import { cpus } from "node:os";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";
import WebSocket from "ws";
import { signAgentToken } from "../shared/src/protocol/agent-token.ts";
import { LINK_SUBPROTOCOL, tunnelAudience } from "../shared/src/protocol/frames.ts";

const { values: a } = parseArgs({
  options: { agents: { type: "string", default: "500" }, seconds: { type: "string", default: "5" } },
});
const N = Number(a.agents);
const SECONDS = Number(a.seconds);
const here = (f: string) => fileURLToPath(new URL(f, import.meta.url));

interface Ready {
  port: number;
  url: string;
  fleet: Array<{ id: string; jwk: Record<string, string> }>;
  memBefore: { rss: number; heapUsed: number };
}

function child(mode: "ours" | "baseline") {
  const c = fork(here("tunnel-server.ts"), [mode, String(N)], {
    execArgv: ["--import", "tsx", "--expose-gc"],
    stdio: ["ignore", "inherit", "inherit", "ipc"],
  });
  process.on("exit", () => c.kill("SIGKILL"));
  return c;
}

function ask<T>(c: ChildProcess, op: string): Promise<T> {
  return new Promise((resolve) => {
    const on = (m: { op: string }) => {
      if (m.op === op || (op === "ready" && m.op === "ready")) {
        c.off("message", on);
        resolve(m as T);
      }
    };
    c.on("message", on);
    if (op !== "ready") c.send({ op });
  });
}

const metricsFrame = (i: number) =>
  JSON.stringify({
    type: "metrics",
    v: 1,
    dropped: 0,
    samples: Array.from({ length: 10 }, (_, k) => ({
      name: `camel.metric${k}`,
      value: i + k,
      at: new Date().toISOString(),
    })),
  });

async function connectAll(mode: "ours" | "baseline", r: Ready): Promise<WebSocket[]> {
  const url = `ws://127.0.0.1:${r.port}/v1/tunnel`;
  const out: WebSocket[] = [];
  for (let i = 0; i < N; i += 50) {
    const batch = await Promise.all(
      Array.from({ length: Math.min(50, N - i) }, async (_, k) => {
        const idx = i + k;
        const headers: Record<string, string> = {};
        let hello: string | undefined;
        if (mode === "ours") {
          const f = r.fleet[idx]!;
          const token = await signAgentToken({
            applianceId: f.id,
            audience: tunnelAudience(r.url),
            privateKey: createPrivateKey({ key: f.jwk as never, format: "jwk" }),
          });
          headers.authorization = `Bearer ${token}`;
          hello = JSON.stringify({
            type: "hello",
            v: 1,
            applianceId: f.id,
            agentVersion: "bench",
            capabilities: [],
            lastCommandSeq: 0,
            lastEventSeq: 0,
            observedGeneration: 0,
            stateDigest: "",
          });
        }
        const ws = new WebSocket(url, LINK_SUBPROTOCOL, { headers, perMessageDeflate: false });
        await new Promise<void>((resolve, reject) => {
          ws.once("error", reject);
          ws.once("open", () => {
            if (!hello) return resolve();
            ws.once("message", () => resolve()); // welcome
            ws.send(hello);
          });
        });
        // answer pings so the session stays up
        ws.on("message", (d) => {
          const f = JSON.parse(d.toString()) as { type: string; t?: number };
          if (f.type === "ping") ws.send(JSON.stringify({ type: "pong", v: 1, t: f.t }));
        });
        return ws;
      }),
    );
    out.push(...batch);
  }
  return out;
}

async function blast(clients: WebSocket[], ms: number) {
  const end = performance.now() + ms;
  let sent = 0;
  await Promise.all(
    clients.map(async (ws, i) => {
      while (performance.now() < end) {
        if (ws.bufferedAmount < 64 * 1024) {
          ws.send(metricsFrame(i));
          sent++;
        }
        await new Promise((r) => setImmediate(r));
      }
    }),
  );
  return sent;
}

async function run(mode: "ours" | "baseline") {
  const c = child(mode);
  const r = await ask<Ready>(c, "ready");
  const clients = await connectAll(mode, r);
  await new Promise((res) => setTimeout(res, 500));
  const memAfter = (await ask<{ mem: { rss: number; heapUsed: number } }>(c, "mem")).mem;
  const c0 = await ask<{ frames: number }>(c, "count");
  const t0 = performance.now();
  await blast(clients, SECONDS * 1000);
  const c1 = await ask<{ frames: number; samplesCommitted: number; sessions: number }>(c, "count");
  const elapsed = (performance.now() - t0) / 1000;
  for (const ws of clients) ws.terminate();
  c.send({ op: "exit" });
  return {
    sessions: c1.sessions,
    rssPerAgentKiB: (memAfter.rss - r.memBefore.rss) / N / 1024,
    heapPerAgentKiB: (memAfter.heapUsed - r.memBefore.heapUsed) / N / 1024,
    framesPerSec: (c1.frames - c0.frames) / elapsed,
    samplesCommitted: c1.samplesCommitted,
  };
}

const baselineResult = await run("baseline");
const oursResult = await run("ours");
const rows = [
  ["server heap per connected agent (KiB)", oursResult.heapPerAgentKiB, baselineResult.heapPerAgentKiB],
  ["server RSS per connected agent (KiB)", oursResult.rssPerAgentKiB, baselineResult.rssPerAgentKiB],
  ["telemetry frames/s received (10 samples each)", oursResult.framesPerSec, baselineResult.framesPerSec],
] as const;
console.log(`\ntunnel bench: ${N} agents, ${SECONDS} s of telemetry, ${cpus().length} cpus`);
console.log("| metric | ours | baseline (bare ws) | ratio |\n| --- | ---: | ---: | ---: |");
for (const [name, o, b] of rows) console.log(`| ${name} | ${o.toFixed(1)} | ${b.toFixed(1)} | ${(o / b).toFixed(2)} |`);
console.log(
  `(ours also committed ${oursResult.samplesCommitted} metric samples to the database; sessions held: ${oursResult.sessions}/${N})`,
);
mkdirSync(here("results"), { recursive: true });
const file = here("results/tunnel.json");
writeFileSync(
  file,
  JSON.stringify(
    {
      bench: "tunnel",
      at: new Date().toISOString(),
      agents: N,
      seconds: SECONDS,
      cpus: cpus().length,
      ours: oursResult,
      baseline: baselineResult,
    },
    null,
    2,
  ),
);
console.log(`results: ${file}`);
process.exit(0);
