// License signing keys (Ed25519, per organisation): create, rotate, retire, publish (JWKS), and sign license tokens.
// Rotation: the old active key becomes verify-only (still in the JWKS, old tokens keep verifying) until retired.
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from "jose";
import { newId } from "../../../shared/src/ids.ts";
import { LICENSE_AUDIENCE, LICENSE_ISSUER, type LicenseClaims } from "../../../shared/src/license.ts";
import type { DbOrTx } from "../db/client.ts";
import * as q from "../db/queries/signing-keys.ts";
import { writeAudit } from "../lib/audit.ts";
import type { Actor, ServiceContext } from "../lib/context.ts";
import { AppError, notFound } from "../lib/errors.ts";
import { toPage } from "../lib/pagination.ts";
import { assertRole } from "../lib/scope.ts";
import { open, seal } from "../lib/secret-box.ts";

export type SigningKey = q.SigningKeyRow;

async function newKeyRow(orgId: string, kek: Buffer, at: Date) {
  const id = newId("signingKey");
  const kid = id;
  const { publicKey, privateKey } = await generateKeyPair("EdDSA", { crv: "Ed25519", extractable: true });
  const publicJwk = { ...(await exportJWK(publicKey)), kid, alg: "EdDSA", use: "sig" };
  const privateJwk = await exportJWK(privateKey);
  return {
    id,
    orgId,
    kid,
    publicJwk,
    encryptedPrivateKey: seal(kek, JSON.stringify(privateJwk), kid),
    state: "active" as const,
    createdAt: at,
  };
}

function isUniqueViolation(err: unknown): boolean {
  for (let e = err as { code?: string; cause?: unknown } | undefined; e; e = e.cause as typeof e) {
    if (e.code === "23505") return true;
  }
  return false;
}

/** The organisation's active key, created (and audited) when it has none yet. Safe under concurrency. */
export async function ensureActiveSigningKey(
  db: DbOrTx,
  { actor, kek, at, requestId }: { actor: Pick<Actor, "orgId" | "name">; kek: Buffer; at: Date; requestId?: string },
): Promise<SigningKey> {
  const existing = await q.getActiveSigningKey(db, actor.orgId);
  if (existing) return existing;
  try {
    return await db.transaction(async (tx) => {
      const row = await q.insertSigningKey(tx, await newKeyRow(actor.orgId, kek, at));
      await writeAudit(tx, {
        actor,
        action: "signing_key.created",
        targetType: "signing_key",
        targetId: row.kid,
        summary: { kid: row.kid },
        requestId,
        at,
      });
      return row;
    });
  } catch (err) {
    // Another request created it first (one active key per organisation is a unique index).
    if (!isUniqueViolation(err)) throw err;
    const row = await q.getActiveSigningKey(db, actor.orgId);
    if (!row) throw err;
    return row;
  }
}

export async function listSigningKeys({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { limit: number; cursor?: string };
}) {
  assertRole(ctx.actor, "admin");
  const rows = await q.listSigningKeys(ctx.deps.db, {
    orgId: ctx.actor.orgId,
    limit: input.limit + 1,
    cursor: input.cursor,
  });
  return toPage(rows, input.limit);
}

/** A new key becomes active; the previous active key stays published as verify-only until retired. */
export async function rotateSigningKey({ ctx }: { ctx: ServiceContext }) {
  assertRole(ctx.actor, "admin");
  const at = ctx.deps.clock.now();
  const fresh = await newKeyRow(ctx.actor.orgId, ctx.deps.keyEncryptionKey, at);
  try {
    return await ctx.deps.db.transaction(async (tx) => {
      const previous = await q.getActiveSigningKey(tx, ctx.actor.orgId);
      if (previous) {
        await q.updateSigningKeyRow(
          tx,
          { orgId: ctx.actor.orgId, id: previous.id },
          { state: "verify-only", rotatedAt: at },
        );
      }
      const row = await q.insertSigningKey(tx, fresh);
      await writeAudit(tx, {
        actor: ctx.actor,
        action: "signing_key.rotated",
        targetType: "signing_key",
        targetId: row.kid,
        summary: { kid: row.kid, previousKid: previous?.kid ?? null },
        requestId: ctx.requestId,
        at,
      });
      return row;
    });
  } catch (err) {
    if (isUniqueViolation(err)) throw new AppError("CONFLICT", "another rotation is in progress; retry");
    throw err;
  }
}

/** Retires a verify-only key: it leaves the JWKS and tokens it signed stop verifying. */
export async function retireSigningKey({ ctx, input }: { ctx: ServiceContext; input: { kid: string } }) {
  assertRole(ctx.actor, "admin");
  const at = ctx.deps.clock.now();
  return ctx.deps.db.transaction(async (tx) => {
    const key = await q.getSigningKeyByKid(tx, { orgId: ctx.actor.orgId, kid: input.kid });
    if (!key) throw notFound("signing key");
    if (key.state === "active") throw new AppError("CONFLICT", "the active key cannot be retired; rotate first");
    if (key.state === "retired") throw new AppError("CONFLICT", "the key is already retired");
    const row = await q.updateSigningKeyRow(
      tx,
      { orgId: ctx.actor.orgId, id: key.id },
      { state: "retired", retiredAt: at },
    );
    await writeAudit(tx, {
      actor: ctx.actor,
      action: "signing_key.retired",
      targetType: "signing_key",
      targetId: key.kid,
      summary: { kid: key.kid },
      requestId: ctx.requestId,
      at,
    });
    return row!;
  });
}

/** The JWKS document: public keys of every organisation that still verify. Public by design. */
export async function publishedJwks(db: DbOrTx): Promise<{ keys: JWK[] }> {
  const rows = await q.listPublishedKeys(db);
  return { keys: rows.map((r) => ({ ...r.publicJwk, kid: r.kid, alg: "EdDSA", use: "sig" }) as JWK) };
}

export type LicenseTokenClaims = Omit<LicenseClaims, "iss" | "aud" | "iat" | "nbf" | "jti">;

/** Signs license claims with the organisation's active key (created on first use). */
export async function signLicenseToken(
  db: DbOrTx,
  {
    actor,
    kek,
    at,
    claims,
    requestId,
  }: { actor: Pick<Actor, "orgId" | "name">; kek: Buffer; at: Date; claims: LicenseTokenClaims; requestId?: string },
): Promise<{ token: string; kid: string; jti: string }> {
  const key = await ensureActiveSigningKey(db, { actor, kek, at, requestId });
  const privateJwk = JSON.parse(open(kek, key.encryptedPrivateKey, key.kid)) as JWK;
  const privateKey = await importJWK(privateJwk, "EdDSA");
  const jti = newId("event").replace(/^evt_/, "jti_");
  const iat = Math.floor(at.getTime() / 1000);
  const { sub, exp, ...rest } = claims;
  const token = await new SignJWT({ ...rest })
    .setProtectedHeader({ alg: "EdDSA", kid: key.kid, typ: "JWT" })
    .setIssuer(LICENSE_ISSUER)
    .setAudience(LICENSE_AUDIENCE)
    .setSubject(sub)
    .setJti(jti)
    .setIssuedAt(iat)
    .setNotBefore(iat)
    .setExpirationTime(exp)
    .sign(privateKey);
  return { token, kid: key.kid, jti };
}
