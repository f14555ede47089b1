// Desired state: one versioned row per appliance; writing it bumps the generation and wakes the session.
import { and, eq, sql } from "drizzle-orm";
import { type DesiredStateWire, desiredStateDigest } from "../../../shared/src/protocol/frames.ts";
import type { DbOrTx } from "../db/client.ts";
import { appliances, desiredStates } from "../db/schema/index.ts";
import { AppError } from "../lib/errors.ts";
import { channels, notify } from "./bus.ts";

export interface SetDesiredInput {
  orgId: string;
  applianceId: string;
  release: DesiredStateWire["release"];
  values: Record<string, unknown>;
  valuesDigest: string;
  updatedBy?: string;
}

/** Upserts the desired state with generation + 1 and notifies; returns the stored state. */
export async function setDesiredState(db: DbOrTx, input: SetDesiredInput): Promise<DesiredStateWire> {
  const run = async (tx: DbOrTx) => {
    const [apl] = await tx
      .select({ id: appliances.id })
      .from(appliances)
      .where(and(eq(appliances.id, input.applianceId), eq(appliances.orgId, input.orgId)));
    if (!apl) throw new AppError("NOT_FOUND", "appliance not found");
    const [cur] = await tx
      .select({ generation: desiredStates.generation })
      .from(desiredStates)
      .where(eq(desiredStates.applianceId, input.applianceId))
      .for("update");
    const generation = (cur?.generation ?? 0) + 1;
    const state: DesiredStateWire = {
      generation,
      release: input.release,
      values: input.values,
      valuesDigest: input.valuesDigest,
    };
    const row = { ...state, digest: desiredStateDigest(state), updatedAt: new Date(), updatedBy: input.updatedBy };
    await tx
      .insert(desiredStates)
      .values({ applianceId: input.applianceId, ...row })
      .onConflictDoUpdate({ target: desiredStates.applianceId, set: row });
    await notify(tx, channels.wake, input.applianceId);
    return state;
  };
  return "transaction" in db ? db.transaction(run) : run(db);
}

export async function getDesiredState(db: DbOrTx, applianceId: string) {
  const [row] = await db.select().from(desiredStates).where(eq(desiredStates.applianceId, applianceId));
  if (!row) return undefined;
  const state: DesiredStateWire = {
    generation: row.generation,
    release: row.release ?? null,
    values: row.values,
    valuesDigest: row.valuesDigest,
  };
  return { state, digest: row.digest };
}

/** Records what the agent reported it observed (level state; repeated reports are harmless). */
export async function recordObserved(
  db: DbOrTx,
  applianceId: string,
  r: { observedGeneration: number; stateDigest: string },
): Promise<void> {
  await db
    .update(appliances)
    .set({ observedGeneration: r.observedGeneration, stateDigest: r.stateDigest })
    .where(
      and(
        eq(appliances.id, applianceId),
        sql`(${appliances.observedGeneration}, ${appliances.stateDigest}) is distinct from (${r.observedGeneration}::int, ${r.stateDigest}::text)`,
      ),
    );
}
