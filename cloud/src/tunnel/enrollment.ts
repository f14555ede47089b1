// Enrollment: a license token plus the agent's Ed25519 public key becomes an appliance bound to that key.
import { and, count, eq, ne } from "drizzle-orm";
import { calculateJwkThumbprint, type JSONWebKeySet } from "jose";
import { newId } from "../../../shared/src/ids.ts";
import { type LicenseClaims, LicenseVerifyError, verifyLicenseToken } from "../../../shared/src/license.ts";
import type { EnrollRequest, EnrollResponse } from "../../../shared/src/protocol/enroll.ts";
import { enrollRequestSchema } from "../../../shared/src/protocol/enroll.ts";
import { TUNNEL_PATH, tunnelAudience } from "../../../shared/src/protocol/frames.ts";
import type { Db } from "../db/client.ts";
import { appliances, auditLog, licenses, signingKeys } from "../db/schema/index.ts";
import type { Clock } from "../lib/clock.ts";
import { AppError } from "../lib/errors.ts";

/** Every published (not retired) license-signing public key, across organisations. */
export async function loadLicenseJwks(db: Db): Promise<JSONWebKeySet> {
  const rows = await db
    .select({ kid: signingKeys.kid, publicJwk: signingKeys.publicJwk })
    .from(signingKeys)
    .where(ne(signingKeys.state, "retired"));
  return { keys: rows.map((r) => ({ ...r.publicJwk, kid: r.kid })) as JSONWebKeySet["keys"] };
}

export function tunnelUrlFor(publicUrl: string): string {
  const u = new URL(publicUrl);
  u.protocol = u.protocol === "https:" ? "wss:" : "ws:";
  u.pathname = `${u.pathname.replace(/\/+$/, "")}${TUNNEL_PATH}`;
  return u.toString();
}

export interface EnrollDeps {
  db: Db;
  clock: Clock;
  publicUrl: string;
}

/** Verifies the license (token and row), then creates or returns the appliance bound to the key. */
export async function enrollAppliance(deps: EnrollDeps, input: EnrollRequest): Promise<EnrollResponse> {
  const req = enrollRequestSchema.parse(input);
  const now = deps.clock.now();
  let claims: LicenseClaims;
  try {
    claims = await verifyLicenseToken(req.licenseToken, await loadLicenseJwks(deps.db), { now });
  } catch (err) {
    if (err instanceof LicenseVerifyError) {
      throw new AppError("UNAUTHORIZED", `license token refused: ${err.message}`, { reason: err.reason });
    }
    throw err;
  }
  const thumbprint = await calculateJwkThumbprint(req.publicKey, "sha256");
  const response = (applianceId: string, created: boolean): EnrollResponse => ({
    applianceId,
    tunnelUrl: tunnelUrlFor(deps.publicUrl),
    audience: tunnelAudience(deps.publicUrl),
    created,
  });

  return deps.db.transaction(async (tx) => {
    // Serialises enrollments of one license so the maxHubs count cannot be raced.
    const [license] = await tx
      .select()
      .from(licenses)
      .where(and(eq(licenses.id, claims.sub), eq(licenses.orgId, claims.org)))
      .for("update");
    if (!license) throw new AppError("UNAUTHORIZED", "license token refused: the license does not exist");
    if (license.state !== "active") {
      throw new AppError("FORBIDDEN", `the license is ${license.state}`, { reason: `license-${license.state}` });
    }
    if (license.expiresAt.getTime() <= now.getTime()) {
      throw new AppError("FORBIDDEN", "the license has expired", { reason: "license-expired" });
    }
    const [existing] = await tx.select().from(appliances).where(eq(appliances.keyThumbprint, thumbprint));
    if (existing) {
      if (existing.licenseId !== license.id) {
        throw new AppError("CONFLICT", "this key is already enrolled under another license");
      }
      return response(existing.id, false);
    }
    const maxHubs = license.entitlements.maxHubs ?? 1;
    const [used] = await tx
      .select({ n: count() })
      .from(appliances)
      .where(and(eq(appliances.licenseId, license.id), eq(appliances.role, req.role)));
    if ((used?.n ?? 0) >= maxHubs) {
      throw new AppError("FORBIDDEN", `the license allows ${maxHubs} hub(s) and all are enrolled`, {
        reason: "max-hubs",
        maxHubs,
      });
    }
    const id = newId("appliance");
    await tx.insert(appliances).values({
      id,
      orgId: license.orgId,
      customerId: license.customerId,
      licenseId: license.id,
      name: req.name ?? `${claims.customer.name} ${req.role}`,
      role: req.role,
      publicKey: req.publicKey,
      keyThumbprint: thumbprint,
      facts: req.facts,
      agentVersion: req.agentVersion ?? null,
    });
    await tx.insert(auditLog).values({
      id: newId("audit"),
      orgId: license.orgId,
      actor: `appliance:${id}`,
      action: "appliance.enroll",
      targetType: "appliance",
      targetId: id,
      summary: { licenseId: license.id, role: req.role, thumbprint },
    });
    return response(id, true);
  });
}
