// Where a process spent its CPU: self time per function (and file) from a .cpuprofile (bench S1 --cpu-profile).
//   npx tsx bench/cpu-summary.ts <file.cpuprofile> [--top 30]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: { top: { type: "string", default: "30" } },
});
const file = positionals[0];
if (!file) throw new Error("usage: cpu-summary.ts <file.cpuprofile> [--top 30]");
const p = JSON.parse(readFileSync(file, "utf8")) as {
  nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
};
const byId = new Map(p.nodes.map((n) => [n.id, n]));
const self = new Map<string, number>();
for (let i = 0; i < p.samples.length; i++) {
  const n = byId.get(p.samples[i]!)!;
  const f = n.callFrame;
  const where = f.url ? `${f.url.replace(/^.*\/(node_modules|work\/main|cop-[a-z]+)\//, "")}:${f.lineNumber + 1}` : "";
  const key = `${f.functionName || "(anonymous)"} ${where}`;
  self.set(key, (self.get(key) ?? 0) + (p.timeDeltas[i] ?? 0));
}
const wall = (p.endTime - p.startTime) / 1e6;
const idle = [...self.entries()].filter(([k]) => k.startsWith("(idle)")).reduce((s, [, v]) => s + v, 0) / 1e6;
console.log(
  `profile ${wall.toFixed(1)} s, busy ${(wall - idle).toFixed(2)} s (${(((wall - idle) / wall) * 100).toFixed(2)} % of a core)`,
);
for (const [k, us] of [...self.entries()].sort((x, y) => y[1] - x[1]).slice(0, Number(a.top))) {
  if (k.startsWith("(idle)")) continue;
  console.log(`${(us / 1000).toFixed(0).padStart(8)} ms  ${k}`);
}
