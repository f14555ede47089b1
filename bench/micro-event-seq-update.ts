// Micro-benchmark behind the ingest change: the per-appliance event_seq UPDATE for 2,000 appliances as a CASE with
// one branch per appliance (the old form) against a join to unnest(ids, seqs) (the new form), 3 rounds each.
//   npx tsx bench/micro-event-seq-update.ts
import { inArray, sql } from "drizzle-orm";
import { appliances } from "../cloud/src/db/schema/index.ts";
import { createBenchDb, enrollFleet } from "./lib/procs.ts";

const db = await createBenchDb();
const { fleet } = await enrollFleet(db, 2000, 1);
const ids = fleet.map((f) => f.id);
const d = db.database.db;
for (let r = 0; r < 3; r++) {
  let t = performance.now();
  const cases = sql.join(
    ids.map((id, i) => sql`when ${id} then ${i + r * 10000}::bigint`),
    sql` `,
  );
  await d
    .update(appliances)
    .set({ eventSeq: sql`greatest(${appliances.eventSeq}, case ${appliances.id} ${cases} end)` })
    .where(inArray(appliances.id, ids));
  const caseMs = performance.now() - t;
  t = performance.now();
  await d.execute(
    sql`update appliances a set event_seq = greatest(a.event_seq, v.seq) from unnest(${`{${ids.join(",")}}`}::text[], ${`{${ids.map((_, i) => i + r * 10000 + 5).join(",")}}`}::bigint[]) as v(id, seq) where a.id = v.id`,
  );
  console.log({ caseMs, unnestMs: performance.now() - t });
}
await db.drop();
process.exit(0);
