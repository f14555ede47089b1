// What a heap is made of: self size and count per constructor (objects, closures, arrays, strings, native), from a
// V8 heap snapshot (bench S1 --heap-snapshot), optionally divided by the number of sessions held.
//   npx tsx bench/heap-summary.ts <file.heapsnapshot> [--per <sessions>] [--top 30]
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";

const { values: a, positionals } = parseArgs({
  allowPositionals: true,
  options: { per: { type: "string" }, top: { type: "string", default: "30" } },
});
const file = positionals[0];
if (!file) throw new Error("usage: heap-summary.ts <file.heapsnapshot> [--per <sessions>] [--top 30]");
const snap = JSON.parse(readFileSync(file, "utf8")) as {
  snapshot: { meta: { node_fields: string[]; node_types: [string[]] } };
  nodes: number[];
  strings: string[];
};
const fields = snap.snapshot.meta.node_fields;
const types = snap.snapshot.meta.node_types[0];
const F = fields.length;
const iType = fields.indexOf("type");
const iName = fields.indexOf("name");
const iSize = fields.indexOf("self_size");
const groups = new Map<string, { count: number; bytes: number }>();
let total = 0;
for (let i = 0; i < snap.nodes.length; i += F) {
  const type = types[snap.nodes[i + iType]!]!;
  const size = snap.nodes[i + iSize]!;
  total += size;
  const name = snap.strings[snap.nodes[i + iName]!]!;
  // strings, numbers and code are grouped by type; objects, closures and native by constructor name
  const key =
    type === "string" || type === "concatenated string" || type === "sliced string" || type === "number"
      ? `(${type})`
      : type === "code"
        ? "(code)"
        : `${name} [${type}]`;
  const g = groups.get(key) ?? { count: 0, bytes: 0 };
  g.count++;
  g.bytes += size;
  groups.set(key, g);
}
const per = a.per ? Number(a.per) : undefined;
const rows = [...groups.entries()].sort((x, y) => y[1].bytes - x[1].bytes).slice(0, Number(a.top));
console.log(
  `total self size ${(total / 1048576).toFixed(1)} MiB${per ? `, ${(total / per).toFixed(0)} B per session` : ""}`,
);
for (const [k, g] of rows) {
  const perS = per
    ? `  ${(g.bytes / per).toFixed(0).padStart(6)} B/session  ${(g.count / per).toFixed(2).padStart(6)}/session`
    : "";
  console.log(`${(g.bytes / 1024).toFixed(0).padStart(9)} KiB  ${String(g.count).padStart(8)}${perS}  ${k}`);
}
