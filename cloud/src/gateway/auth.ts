// Authenticates a tunnel upgrade: the agent's short-lived EdDSA JWT, its appliance and license, and jti replay.
// The appliance lookups and jti inserts of concurrent handshakes are group-committed (one statement per few ms).
import { and, eq, lt, sql } from "drizzle-orm";
import { decodeProtectedHeader, importJWK, type JWTPayload, errors as joseErrors, jwtVerify } from "jose";
import { AGENT_TOKEN_MAX_TTL_SECONDS } from "../../../shared/src/protocol/agent-token.ts";
import { type Db, rowsOf } from "../db/client.ts";
import { pgArray } from "../db/pg-array.ts";
import { agentTokenJtis, appliances, licenses } from "../db/schema/index.ts";
import { GroupCommit } from "../lib/group-commit.ts";

export class TunnelAuthError extends Error {
  readonly status: 401 | 403;
  readonly reason: string;
  constructor(status: 401 | 403, reason: string, message: string) {
    super(message);
    this.status = status;
    this.reason = reason;
  }
}

export interface AuthenticatedAppliance {
  applianceId: string;
  orgId: string;
  licenseId: string;
  jti: string;
  expiresAt: Date;
}

/** A row is allowed a session while the appliance is active and its license active and unexpired. */
export function refusal(row: { applianceState: string; licenseState: string; licenseExpiresAt: Date }, now: Date) {
  if (row.applianceState !== "active") return "appliance-disabled";
  if (row.licenseState !== "active") return `license-${row.licenseState}`;
  if (row.licenseExpiresAt.getTime() <= now.getTime()) return "license-expired";
  return undefined;
}

export const accessColumns = {
  applianceId: appliances.id,
  orgId: appliances.orgId,
  licenseId: appliances.licenseId,
  publicKey: appliances.publicKey,
  applianceState: appliances.state,
  licenseState: licenses.state,
  licenseExpiresAt: licenses.expiresAt,
};

type KeyLike = Awaited<ReturnType<typeof importJWK>>;
type AccessRow = {
  applianceId: string;
  orgId: string;
  licenseId: string;
  publicKey: { x: string; kty: "OKP"; crv: "Ed25519" };
  applianceState: string;
  licenseState: string;
  licenseExpiresAt: Date;
};
type JtiItem = { applianceId: string; jti: string; expiresAt: Date };

const KEY_CACHE_SIZE = 1_000;

/** How long a handshake's lookup or jti insert waits for others to share its statement (0 = one statement each). */
export const DEFAULT_HANDSHAKE_GROUP_MS = 2;

export class AgentTokenVerifier {
  private readonly db: Db;
  private readonly audience: string;
  private readonly clockSkewSec: number;
  private readonly keys = new Map<string, { x: string; key: KeyLike }>();
  /** recently accepted jti -> expiry (ms); the DB table makes replay refusal hold across replicas */
  private readonly seen = new Map<string, number>();
  private readonly lookups: GroupCommit<string, AccessRow | undefined>;
  private readonly jtis: GroupCommit<JtiItem, boolean>;

  constructor(db: Db, audience: string, clockSkewSec = 30, groupMs = DEFAULT_HANDSHAKE_GROUP_MS) {
    this.db = db;
    this.audience = audience;
    this.clockSkewSec = clockSkewSec;
    const maxItems = groupMs > 0 ? 256 : 1;
    this.lookups = new GroupCommit(
      async (ids) => {
        const rows = (await db
          .select(accessColumns)
          .from(appliances)
          .innerJoin(licenses, eq(licenses.id, appliances.licenseId))
          .where(sql`${appliances.id} = any(${pgArray([...new Set(ids)])}::text[])`)) as AccessRow[];
        const byId = new Map(rows.map((r) => [r.applianceId, r]));
        return ids.map((id) => byId.get(id));
      },
      { windowMs: groupMs, maxItems },
    );
    // A jti never shares a batch with itself: both copies would read the one inserted row as their own.
    this.jtis = new GroupCommit(
      async (items) => {
        const result = await db.execute(sql`
          insert into agent_token_jtis (appliance_id, jti, expires_at)
          select * from unnest(${pgArray(items.map((i) => i.applianceId))}::text[],
            ${pgArray(items.map((i) => i.jti))}::text[],
            ${pgArray(items.map((i) => i.expiresAt.toISOString()))}::timestamptz[])
          on conflict do nothing
          returning appliance_id, jti`);
        const rows = rowsOf<{ appliance_id: string; jti: string }>(result);
        const inserted = new Set(rows.map((r) => `${r.appliance_id}/${r.jti}`));
        return items.map((i) => inserted.has(`${i.applianceId}/${i.jti}`));
      },
      { windowMs: groupMs, maxItems, keyOf: (i) => `${i.applianceId}/${i.jti}` },
    );
  }

  async verify(token: string, now: Date): Promise<AuthenticatedAppliance> {
    let kid: string | undefined;
    try {
      const header = decodeProtectedHeader(token);
      if (header.alg !== "EdDSA") throw new TunnelAuthError(401, "bad-alg", "only EdDSA agent tokens are accepted");
      kid = header.kid;
    } catch (err) {
      if (err instanceof TunnelAuthError) throw err;
      throw new TunnelAuthError(401, "malformed", "the token is not a JWT");
    }
    if (!kid || kid.length > 64) throw new TunnelAuthError(401, "no-kid", "the token names no appliance (kid)");
    const row = await this.lookups.add(kid);
    if (!row) throw new TunnelAuthError(401, "unknown-appliance", "no appliance has this id");
    let cached = this.keys.get(kid);
    if (!cached || cached.x !== row.publicKey.x) {
      cached = { x: row.publicKey.x, key: await importJWK({ ...row.publicKey, alg: "EdDSA" }, "EdDSA") };
    }
    // A small LRU: an imported key is ~230 bytes of heap plus native memory, and a held agent is verified again
    // only when it reconnects, so a cache of every held appliance cost memory per agent for little (bench S1).
    this.keys.delete(kid);
    this.keys.set(kid, cached);
    if (this.keys.size > KEY_CACHE_SIZE) this.keys.delete(this.keys.keys().next().value!);
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(token, cached.key, {
        algorithms: ["EdDSA"],
        audience: this.audience,
        subject: kid,
        currentDate: now,
        clockTolerance: this.clockSkewSec,
        requiredClaims: ["exp", "iat", "jti", "sub", "aud"],
      }));
    } catch (err) {
      if (err instanceof joseErrors.JWTExpired) throw new TunnelAuthError(401, "expired", "the token has expired");
      if (err instanceof joseErrors.JWTClaimValidationFailed) {
        throw new TunnelAuthError(401, `bad-${err.claim}`, `claim ${err.claim} refused: ${err.reason}`);
      }
      throw new TunnelAuthError(401, "bad-signature", "the token does not verify with the appliance's key");
    }
    const exp = payload.exp!;
    const iat = payload.iat!;
    const nowSec = now.getTime() / 1000;
    if (exp - iat > AGENT_TOKEN_MAX_TTL_SECONDS || exp - nowSec > AGENT_TOKEN_MAX_TTL_SECONDS + this.clockSkewSec) {
      throw new TunnelAuthError(401, "ttl-too-long", `agent tokens may live at most ${AGENT_TOKEN_MAX_TTL_SECONDS} s`);
    }
    const jti = String(payload.jti);
    if (jti.length > 128) throw new TunnelAuthError(401, "bad-jti", "jti too long");
    const why = refusal(row, now);
    if (why) throw new TunnelAuthError(403, why, `refused: ${why}`);

    const key = `${kid}/${jti}`;
    if (this.seen.has(key)) throw new TunnelAuthError(401, "replayed", "this token has already been used");
    const expiresAt = new Date((exp + this.clockSkewSec) * 1000);
    const inserted = await this.jtis.add({ applianceId: kid, jti, expiresAt });
    if (!inserted) throw new TunnelAuthError(401, "replayed", "this token has already been used");
    this.seen.set(key, expiresAt.getTime());
    return { applianceId: kid, orgId: row.orgId, licenseId: row.licenseId, jti, expiresAt };
  }

  /** Forgets expired jtis, in memory and in the table. */
  async sweep(now: Date): Promise<void> {
    const t = now.getTime();
    for (const [k, exp] of this.seen) if (exp < t) this.seen.delete(k);
    await this.db.delete(agentTokenJtis).where(lt(agentTokenJtis.expiresAt, now));
  }
}

/** Of the given appliances, those no longer allowed a session, with the reason (one query). */
export async function refusedAppliances(db: Db, ids: string[], now: Date): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  if (ids.length === 0) return out;
  const rows = await db
    .select(accessColumns)
    .from(appliances)
    .innerJoin(licenses, eq(licenses.id, appliances.licenseId))
    .where(
      and(
        // one array parameter, not one per id: drizzle's inArray over every held session was most of an idle
        // gateway's CPU (bench S1 profile)
        sql`${appliances.id} = any(${pgArray(ids)}::text[])`,
        sql`(${appliances.state} <> 'active' or ${licenses.state} <> 'active' or ${licenses.expiresAt} <= ${now.toISOString()}::timestamptz)`,
      ),
    );
  for (const r of rows) out.set(r.applianceId, refusal(r, now) ?? "refused");
  return out;
}
