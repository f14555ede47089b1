// Rollout test fixtures over the real tables: an organisation with customers, licenses and appliances, and
// "what the agent reported" written the way the tunnel writes it (appliances.online, last_apply).
import { createHash, randomBytes } from "node:crypto";
import { eq, inArray } from "drizzle-orm";
import pino from "pino";
import type { Db } from "../../cloud/src/db/client.ts";
import { appliances, customers, desiredStates, licenses, organisations } from "../../cloud/src/db/schema/index.ts";
import type { ManualClock } from "../../cloud/src/lib/clock.ts";
import type { Actor, Role, ServiceContext } from "../../cloud/src/lib/context.ts";
import { CloudEvents } from "../../cloud/src/lib/events.ts";
import { newId } from "../../shared/src/ids.ts";

export const silentLogger = pino({ level: "silent" });

export function serviceContext(db: Db, clock: ManualClock, orgId: string, role: Role = "operator"): ServiceContext {
  const actor: Actor = { orgId, keyId: "", role, name: `test:${role}` };
  return {
    deps: { db, clock, events: new CloudEvents(), keyEncryptionKey: randomBytes(32), logger: silentLogger },
    actor,
  };
}

export interface Fleet {
  orgId: string;
  customerIds: string[];
  applianceIds: string[];
}

/** An organisation with `customers` customers (one license each, on `channel`) and `n` appliances spread over them. */
export async function seedFleet(
  db: Db,
  opts: {
    n: number;
    customers?: number;
    channel?: string;
    tags?: (i: number) => string[];
    online?: boolean;
    now: Date;
    /** an existing organisation (one is made otherwise) */
    orgId?: string;
  },
): Promise<Fleet> {
  const orgId = opts.orgId ?? newId("organisation");
  if (!opts.orgId) await db.insert(organisations).values({ id: orgId, name: `org ${orgId.slice(-6)}` });
  const nCustomers = opts.customers ?? Math.min(10, opts.n);
  const customerIds: string[] = [];
  const licenseIds: string[] = [];
  for (let i = 0; i < nCustomers; i++) {
    const id = newId("customer");
    customerIds.push(id);
    await db.insert(customers).values({ id, orgId, name: `customer ${i}`, tags: opts.tags?.(i) ?? [] });
    const lic = newId("license");
    licenseIds.push(lic);
    await db.insert(licenses).values({
      id: lic,
      orgId,
      customerId: id,
      entitlements: { maxWorkerNodes: 3, maxHubs: 1, updateChannel: opts.channel ?? "stable", features: [] },
      expiresAt: new Date(opts.now.getTime() + 365 * 86_400_000),
    });
  }
  const applianceIds: string[] = [];
  const rows = [];
  for (let i = 0; i < opts.n; i++) {
    const id = newId("appliance");
    applianceIds.push(id);
    const x = randomBytes(32).toString("base64url");
    rows.push({
      id,
      orgId,
      customerId: customerIds[i % nCustomers]!,
      licenseId: licenseIds[i % nCustomers]!,
      name: `appliance-${String(i).padStart(3, "0")}`,
      publicKey: { kty: "OKP" as const, crv: "Ed25519" as const, x },
      keyThumbprint: createHash("sha256").update(x).digest("base64url"),
      online: opts.online ?? true,
      lastSeenAt: opts.now,
      agentVersion: "0.1.0",
      facts: {
        kubernetesVersion: "v1.31.4+k3s1",
        distribution: "k3s" as const,
        nodeCount: 1,
        namespace: "camel",
        mode: "appliance" as const,
      },
    });
  }
  for (let i = 0; i < rows.length; i += 500) await db.insert(appliances).values(rows.slice(i, i + 500));
  return { orgId, customerIds, applianceIds };
}

export async function setOnline(db: Db, ids: string[], online: boolean, at: Date) {
  await db.update(appliances).set({ online, lastSeenAt: at }).where(inArray(appliances.id, ids));
}

/** What an agent does after applying: report the outcome of the generation it was given. */
export async function reportApply(
  db: Db,
  applianceId: string,
  outcome: "healthy" | "failed" | "rolled-back",
  at: Date,
  message = outcome === "healthy" ? "upgraded" : "helm upgrade failed: context deadline exceeded",
) {
  const [d] = await db.select().from(desiredStates).where(eq(desiredStates.applianceId, applianceId));
  if (!d) throw new Error(`no desired state for ${applianceId}`);
  await db
    .update(appliances)
    .set({
      observedGeneration: d.generation,
      lastApply: {
        generation: d.generation,
        outcome,
        chartVersion: d.release?.chartVersion,
        revision: d.generation,
        message,
        ...(outcome === "healthy" ? {} : { evidence: { helmError: message } }),
        at: at.toISOString(),
      },
    })
    .where(eq(appliances.id, applianceId));
  return d.generation;
}

export async function desiredOf(db: Db, applianceId: string) {
  const [d] = await db.select().from(desiredStates).where(eq(desiredStates.applianceId, applianceId));
  return d;
}

export const fakeChart = (version: string) =>
  Buffer.concat([
    Buffer.from([0x1f, 0x8b, 0x08, 0x00]),
    Buffer.from(`chart ${version} ${randomBytes(8).toString("hex")}`),
  ]).toString("base64");
