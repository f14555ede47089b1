// Benchmark: resident memory of the idle agent (bundled as in the image) connected to a real cloud, watching a
// simulated cluster with a small release, sending telemetry. Reports RSS against a bare `node` measured in the
// same run. Goal <= 64 MiB RSS (stretch 32 MiB); comparable agents request 100-128 MiB.
//   npx tsx bench/agent-memory.ts [--seconds 30] [--telemetry-ms 2000] [--in-pod] [--json bench/results/agent-memory.json]
// --in-pod runs the agent as in its pod: the service account's token and CA (no kubeconfig), its key in a Secret.
import { spawn } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { mkdtemp } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { parseArgs } from "node:util";
import { KubeSim } from "../test/k8s-sim/sim.ts";
import { pgliteKind } from "../test/support/db.ts";
import { issueLicense, startTunnelCloud } from "../test/tunnel/harness.ts";

/** Keep in step with agent/Dockerfile: a small young generation and few helper threads for an idle agent. */
const IMAGE_NODE_FLAGS = "--max-semi-space-size=1 --max-old-space-size=96 --v8-pool-size=1 --enable-source-maps";
const { values: args } = parseArgs({
  options: {
    seconds: { type: "string", default: "60" },
    "telemetry-ms": { type: "string", default: "2000" },
    json: { type: "string" },
    "in-pod": { type: "boolean", default: false },
    /** V8/Node flags of the agent process; the image's defaults (Dockerfile NODE_OPTIONS) unless given */
    "node-flags": { type: "string", default: IMAGE_NODE_FLAGS },
  },
});
const seconds = Number(args.seconds);
const MiB = 1024 * 1024;

function rssOf(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** user + system CPU seconds of a process so far (/proc/<pid>/stat, in clock ticks of 1/100 s) */
function cpuSecondsOf(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ");
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

async function build(): Promise<string> {
  const out = join(await mkdtemp(join(tmpdir(), "agent-bench-")), "agent.mjs");
  // The real entry when it exists, else the bench's stand-in with the same parts.
  const entry =
    existsSync("agent/src/main.ts") && process.env.BENCH_ENTRY !== "idle"
      ? "agent/src/main.ts"
      : "bench/agent-idle-entry.ts";
  await new Promise<void>((ok, fail) => {
    const p = spawn(process.execPath, ["scripts/build-agent.mjs", "--entry", entry, "--outfile", out], {
      stdio: "inherit",
    });
    p.on("exit", (c) => (c === 0 ? ok() : fail(new Error(`build exited ${c}`))));
  });
  console.log(`entry: ${entry}`);
  return out;
}

async function baselineRss(): Promise<number> {
  const p = spawn(process.execPath, ["-e", "setTimeout(()=>{},3000)"], { stdio: "ignore" });
  await new Promise((r) => setTimeout(r, 1500));
  const rss = rssOf(p.pid!) ?? 0;
  p.kill();
  return rss;
}

const bundle = await build();
const database = await pgliteKind.open();
const tc = await startTunnelCloud({ database });
const sim = await KubeSim.start({ readyDelayMs: 50, https: true });
// a small release-shaped namespace: three integration workloads with their pods
for (const name of ["orders", "payments", "audit"]) {
  sim.seed({
    apiVersion: "apps/v1",
    kind: "Deployment",
    metadata: {
      name: `camel-runner-${name}`,
      namespace: "default",
      labels: {
        "app.kubernetes.io/instance": "camel",
        "camel-ops.io/integration": name,
        "app.kubernetes.io/component": "integration",
      },
    },
    spec: {
      replicas: 1,
      selector: { matchLabels: { "camel-ops.io/integration": name } },
      template: {
        metadata: {
          labels: {
            "app.kubernetes.io/instance": "camel",
            "camel-ops.io/integration": name,
            "app.kubernetes.io/component": "integration",
          },
        },
        spec: { containers: [{ name: "camel", image: "camel-runner:1" }] },
      },
    },
  });
}
const { token } = await issueLicense(tc);
const stateDir = await mkdtemp(join(tmpdir(), "agent-bench-state-"));

const port = await new Promise<number>((ok) => {
  const srv = createServer().listen(0, "127.0.0.1", () => {
    const p = (srv.address() as AddressInfo).port;
    srv.close(() => ok(p));
  });
});
const nodeFlags = (args["node-flags"] ?? "").split(/\s+/).filter(Boolean);
const inPod = args["in-pod"] === true;
const sa = inPod ? sim.writeServiceAccount(stateDir) : undefined;
const where = sa
  ? {
      ...sa.env,
      CAMEL_OPS_SERVICE_ACCOUNT_DIR: join(sa.pathPrefix, "var/run/secrets/kubernetes.io/serviceaccount"),
      CAMEL_OPS_KEY_SECRET: "camel-ops-agent-key",
    }
  : { KUBECONFIG: sim.kubeconfigPath };
const child = spawn(process.execPath, [...nodeFlags, bundle], {
  env: {
    PATH: process.env.PATH,
    CAMEL_OPS_CLOUD_URL: tc.url,
    CAMEL_OPS_LICENSE_TOKEN: token,
    ...where,
    CAMEL_OPS_NAMESPACE: "default",
    CAMEL_OPS_RELEASE_NAME: "camel",
    CAMEL_OPS_MANAGE_RELEASE: "true",
    CAMEL_OPS_HELM_BIN: resolve(".tools/helm4/helm"),
    CAMEL_OPS_STATE_DIR: stateDir,
    CAMEL_OPS_CAMEL_ACCESS: "off",
    CAMEL_OPS_LOG_LEVEL: "warn",
    CAMEL_OPS_PORT: String(port),
    BENCH_TELEMETRY_MS: args["telemetry-ms"],
    UV_THREADPOOL_SIZE: "2",
    BENCH_DEBUG: process.env.BENCH_DEBUG,
  },
  stdio: ["ignore", "pipe", "pipe"],
});
let out = "";
child.stdout.on("data", (d) => {
  out = (out + d).slice(-4000);
});
child.stderr.on("data", (d) => {
  out = (out + d).slice(-4000);
});
// connected when the agent's own probe says the tunnel is live (works for main.ts and the stand-in entry)
const t0 = Date.now();
for (;;) {
  const ok = await fetch(`http://127.0.0.1:${port}/linkz`).then(
    (r) => r.ok,
    () => false,
  );
  if (ok) break;
  if (Date.now() - t0 > 60_000 || child.exitCode !== null) {
    child.kill("SIGKILL");
    throw new Error(`agent did not connect: ${out}`);
  }
  await new Promise((r) => setTimeout(r, 200));
}
if (inPod && !sim.get("Secret", "default", "camel-ops-agent-key")) {
  child.kill("SIGKILL");
  throw new Error("in-pod run: the agent did not keep its key in the Secret");
}
console.log(`agent connected in ${Date.now() - t0} ms; idling ${seconds} s`);

const samples: number[] = [];
const cpuAtStart = cpuSecondsOf(child.pid!);
const end = Date.now() + seconds * 1000;
while (Date.now() < end) {
  await new Promise((r) => setTimeout(r, 1000));
  const rss = rssOf(child.pid!);
  if (rss) samples.push(rss);
}
const idleCpuSeconds = cpuSecondsOf(child.pid!) - cpuAtStart;
child.kill("SIGTERM");
await new Promise((r) => child.once("exit", r));
const base = await baselineRss();
await tc.stop();
await database.close();
await sim.stop();

const sorted = [...samples].sort((a, b) => a - b);
// steady state: the second half of the window, after start-up (enrolment, first telemetry, JIT) has settled
const steady = samples.slice(Math.floor(samples.length / 2)).sort((a, b) => a - b);
const result = {
  at: new Date().toISOString(),
  node: process.version,
  seconds,
  telemetryMs: Number(args["telemetry-ms"]),
  nodeFlags: nodeFlags.join(" "),
  where: inPod ? "in a pod (service account, key in a Secret)" : "outside a pod (kubeconfig, key in a file)",
  rssMiB: {
    last: +(samples.at(-1)! / MiB).toFixed(1),
    steadyMedian: +(steady[Math.floor(steady.length / 2)]! / MiB).toFixed(1),
    median: +(sorted[Math.floor(sorted.length / 2)]! / MiB).toFixed(1),
    max: +(sorted.at(-1)! / MiB).toFixed(1),
  },
  /** CPU of the idle agent over the window (telemetry every telemetryMs, heartbeats), % of one core */
  idleCpuPercent: +((idleCpuSeconds / seconds) * 100).toFixed(2),
  bareNodeMiB: +(base / MiB).toFixed(1),
  overBareNodeMiB: +((sorted[Math.floor(sorted.length / 2)]! - base) / MiB).toFixed(1),
  goalMiB: 64,
  stretchMiB: 32,
  comparableRequestsMiB: [100, 128],
};
console.log(JSON.stringify(result, null, 2));
console.log(
  `idle agent RSS steady ${result.rssMiB.steadyMedian} MiB (median ${result.rssMiB.median}, start-up peak ${result.rssMiB.max}); ` +
    `idle CPU ${result.idleCpuPercent} % of a core; bare node ${result.bareNodeMiB} MiB; goal 64 MiB steady: ${result.rssMiB.steadyMedian <= 64 ? "met" : "NOT met"}; ` +
    `${(result.rssMiB.steadyMedian / 128).toFixed(2)}x of a 128 MiB request`,
);
if (args.json) {
  mkdirSync(dirname(args.json), { recursive: true });
  writeFileSync(args.json, `${JSON.stringify(result, null, 2)}\n`);
}
process.exit(0);
