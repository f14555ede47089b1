// Shared bench plumbing: machine facts, CPU seconds of processes, percentiles, the printed table and the JSON file.
import { execSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { cpus, totalmem } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

export const resultsDir = join(dirname(fileURLToPath(import.meta.url)), "..", "results");
const CLK_TCK = 100;

/** The facts a reader needs to compare two runs. */
export function machineFacts() {
  const sh = (cmd: string) => {
    try {
      return execSync(cmd, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] }).trim();
    } catch {
      return "";
    }
  };
  return {
    date: new Date().toISOString(),
    nproc: Number(sh("nproc")) || cpus().length,
    cpuModel: cpus()[0]?.model ?? "",
    memoryGiB: Math.round((totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    kernel: sh("uname -r"),
    postgres: sh("psql --version"),
    nofileLimit: sh("sh -c 'ulimit -n'"),
    loadAverage: readFileSync("/proc/loadavg", "utf8").trim(),
    /** the benches run the working tree: its commit and any uncommitted files under cloud/ and shared/ */
    gitHead: sh("git rev-parse --short HEAD"),
    uncommitted: sh("git status --porcelain -- cloud shared").split("\n").filter(Boolean),
  };
}

/** utime + stime of a process in seconds (0 when it is gone). */
export function cpuSeconds(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    return (Number(f[11]) + Number(f[12])) / CLK_TCK;
  } catch {
    return 0;
  }
}

export function rssBytes(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : 0;
  } catch {
    return 0;
  }
}

/** TCP socket memory of the whole kernel in bytes (sockstat counts pages). */
export function kernelTcpMemBytes(): number {
  const m = /TCP: .* mem (\d+)/.exec(readFileSync("/proc/net/sockstat", "utf8"));
  return m ? Number(m[1]) * 4096 : 0;
}

export function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export interface Row {
  metric: string;
  ours: number | string;
  baseline?: number | string;
  /** ours / baseline unless given */
  ratio?: number;
  unit?: string;
  goal?: string;
  met?: boolean;
}

const fmt = (v: number | string | undefined) =>
  v === undefined
    ? "-"
    : typeof v === "string"
      ? v
      : Math.abs(v) >= 100
        ? Math.round(v).toLocaleString("en")
        : String(Math.round(v * 1000) / 1000);

/** Prints the table and writes bench/results/<name>.json with the rows, the CPU seconds and the machine. */
export function report(
  name: string,
  rows: Row[],
  extra: { cpuSeconds?: Record<string, number>; params?: Record<string, unknown>; notes?: string[]; raw?: unknown },
) {
  for (const r of rows) {
    if (r.ratio === undefined && typeof r.ours === "number" && typeof r.baseline === "number" && r.baseline !== 0) {
      r.ratio = r.ours / r.baseline;
    }
  }
  const header = ["metric", "ours", "baseline", "ratio", "unit", "goal", "met"];
  const cells = rows.map((r) => [
    r.metric,
    fmt(r.ours),
    fmt(r.baseline),
    r.ratio === undefined ? "-" : r.ratio.toFixed(3),
    r.unit ?? "",
    r.goal ?? "",
    r.met === undefined ? "" : r.met ? "yes" : "NO",
  ]);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[]) => c.map((x, i) => x.padEnd(widths[i]!)).join("  ");
  console.log(`\n== ${name} ==`);
  console.log(line(header));
  console.log(widths.map((w) => "-".repeat(w)).join("  "));
  for (const c of cells) console.log(line(c));
  if (extra.cpuSeconds) {
    console.log("\nCPU seconds per process:");
    for (const [k, v] of Object.entries(extra.cpuSeconds)) console.log(`  ${k.padEnd(28)} ${v.toFixed(2)}`);
  }
  for (const n of extra.notes ?? []) console.log(`note: ${n}`);
  mkdirSync(resultsDir, { recursive: true });
  const file = join(resultsDir, `${name}.json`);
  writeFileSync(file, `${JSON.stringify({ name, machine: machineFacts(), ...extra, rows }, null, 2)}\n`);
  console.log(`\nwrote ${file}`);
}

/** Records the machine facts once per run (bench/results/machine.json). */
export function writeMachineFacts() {
  mkdirSync(resultsDir, { recursive: true });
  writeFileSync(join(resultsDir, "machine.json"), `${JSON.stringify(machineFacts(), null, 2)}\n`);
}
