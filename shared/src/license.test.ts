// verifyLicenseToken against real keys made here: the accepted token, and every attack refused with its reason.
import { createHmac, generateKeyPairSync } from "node:crypto";
import { exportJWK, generateKeyPair, type JWK, SignJWT } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import { LICENSE_AUDIENCE, LICENSE_ISSUER, LicenseVerifyError, verifyLicenseToken } from "./license.ts";

const now = new Date("2026-06-01T12:00:00Z");
const sec = (d: Date) => Math.floor(d.getTime() / 1000);
const claims = {
  org: "org_01JD6Z8Q3W5Y2M4N6P8R0T2V4X",
  customer: { id: "cus_01JD6Z8Q3W5Y2M4N6P8R0T2V4X", name: "ACME" },
  entitlements: { maxWorkerNodes: 3, maxHubs: 1, updateChannel: "stable", features: [] },
};

let privateKey: CryptoKey;
let publicJwk: JWK;
let jwks: { keys: JWK[] };

async function sign(
  opts: {
    kid?: string;
    iss?: string;
    aud?: string;
    iat?: number;
    nbf?: number;
    exp?: number;
    payload?: Record<string, unknown>;
    key?: CryptoKey;
  } = {},
) {
  const iat = opts.iat ?? sec(now);
  return new SignJWT({ ...claims, ...opts.payload })
    .setProtectedHeader({ alg: "EdDSA", kid: opts.kid ?? "k1" })
    .setIssuer(opts.iss ?? LICENSE_ISSUER)
    .setAudience(opts.aud ?? LICENSE_AUDIENCE)
    .setSubject("lic_01JD6Z8Q3W5Y2M4N6P8R0T2V4X")
    .setJti("jti_1")
    .setIssuedAt(iat)
    .setNotBefore(opts.nbf ?? iat)
    .setExpirationTime(opts.exp ?? sec(now) + 3600)
    .sign(opts.key ?? privateKey);
}

const b64url = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v)).toString("base64url");

async function reason(token: string, keys = jwks, at = now) {
  try {
    await verifyLicenseToken(token, keys, { now: at });
  } catch (err) {
    expect(err).toBeInstanceOf(LicenseVerifyError);
    expect((err as Error).message.length).toBeGreaterThan(10);
    return (err as LicenseVerifyError).reason;
  }
  return "accepted";
}

beforeAll(async () => {
  const pair = await generateKeyPair("EdDSA", { crv: "Ed25519" });
  privateKey = pair.privateKey;
  publicJwk = { ...(await exportJWK(pair.publicKey)), kid: "k1", alg: "EdDSA", use: "sig" };
  jwks = { keys: [publicJwk] };
});

describe("verifyLicenseToken", () => {
  it("accepts a valid EdDSA token and returns typed claims", async () => {
    const c = await verifyLicenseToken(await sign(), jwks, { now });
    expect(c.sub).toBe("lic_01JD6Z8Q3W5Y2M4N6P8R0T2V4X");
    expect(c.entitlements.maxWorkerNodes).toBe(3);
    expect(c.customer.name).toBe("ACME");
  });

  it('refuses alg "none" (unsigned)', async () => {
    const token = `${b64url({ alg: "none", kid: "k1" })}.${(await sign()).split(".")[1]}.`;
    expect(await reason(token)).toBe("algorithm-not-allowed");
  });

  it("refuses an HMAC token signed with the public key as the secret (algorithm confusion)", async () => {
    const header = b64url({ alg: "HS256", kid: "k1", typ: "JWT" });
    const payload = (await sign()).split(".")[1];
    const secret = Buffer.from(JSON.stringify(publicJwk));
    const sig = createHmac("sha256", secret).update(`${header}.${payload}`).digest("base64url");
    expect(await reason(`${header}.${payload}.${sig}`)).toBe("algorithm-not-allowed");
    // and with the raw public key bytes as the HMAC secret
    const raw = Buffer.from(publicJwk.x!, "base64url");
    const sig2 = createHmac("sha256", raw).update(`${header}.${payload}`).digest("base64url");
    expect(await reason(`${header}.${payload}.${sig2}`)).toBe("algorithm-not-allowed");
  });

  it("refuses an RS256 token even when its key is published", async () => {
    const { privateKey: rsa, publicKey: rsaPub } = generateKeyPairSync("rsa", { modulusLength: 2048 });
    const rsToken = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: "RS256", kid: "rsa" })
      .setIssuer(LICENSE_ISSUER)
      .setAudience(LICENSE_AUDIENCE)
      .setSubject("lic_x")
      .setJti("j")
      .setIssuedAt(sec(now))
      .setNotBefore(sec(now))
      .setExpirationTime(sec(now) + 60)
      .sign(rsa);
    const withRsa = { keys: [...jwks.keys, { ...(await exportJWK(rsaPub)), kid: "rsa" }] };
    expect(await reason(rsToken, withRsa)).toBe("algorithm-not-allowed");
  });

  it("refuses an unknown kid and a missing kid", async () => {
    expect(await reason(await sign({ kid: "someone-else" }))).toBe("unknown-key");
    const noKid = await new SignJWT({ ...claims })
      .setProtectedHeader({ alg: "EdDSA" })
      .setIssuer(LICENSE_ISSUER)
      .setAudience(LICENSE_AUDIENCE)
      .setSubject("s")
      .setJti("j")
      .setIssuedAt(sec(now))
      .setNotBefore(sec(now))
      .setExpirationTime(sec(now) + 60)
      .sign(privateKey);
    expect(await reason(noKid)).toBe("unknown-key");
  });

  it("refuses a token signed by another key under a published kid", async () => {
    const other = await generateKeyPair("EdDSA", { crv: "Ed25519" });
    expect(await reason(await sign({ key: other.privateKey }))).toBe("bad-signature");
  });

  it("refuses a tampered payload (raised entitlement)", async () => {
    const [h, p, s] = (await sign()).split(".");
    const payload = JSON.parse(Buffer.from(p!, "base64url").toString());
    payload.entitlements.maxWorkerNodes = 1000;
    expect(await reason(`${h}.${b64url(payload)}.${s}`)).toBe("bad-signature");
  });

  it("refuses a tampered header (kid swapped) and a truncated signature", async () => {
    const [, p, s] = (await sign()).split(".");
    expect(await reason(`${b64url({ alg: "EdDSA", kid: "k1", extra: 1 })}.${p}.${s}`)).toBe("bad-signature");
    const t = await sign();
    expect(await reason(t.slice(0, -10))).toBe("bad-signature");
  });

  it("expiry: refused after exp plus skew, accepted within the skew", async () => {
    const exp = sec(now) - 30;
    expect(await reason(await sign({ iat: exp - 3600, exp }))).toBe("accepted"); // 30 s late, skew 60 s
    const old = sec(now) - 120;
    expect(await reason(await sign({ iat: old - 3600, exp: old }))).toBe("expired");
  });

  it("not-before: refused before nbf minus skew", async () => {
    const future = sec(now) + 600;
    expect(await reason(await sign({ iat: future, nbf: future, exp: future + 3600 }))).toBe("not-yet-valid");
    expect(await reason(await sign({ nbf: sec(now) + 30 }))).toBe("accepted");
  });

  it("refuses the wrong issuer and the wrong audience", async () => {
    expect(await reason(await sign({ iss: "someone-else" }))).toBe("wrong-issuer");
    expect(await reason(await sign({ aud: "camel-ops-agent-session" }))).toBe("wrong-audience");
  });

  it("refuses claims that do not match the schema, and garbage", async () => {
    expect(await reason(await sign({ payload: { entitlements: { maxWorkerNodes: "many" } } }))).toBe("invalid-claims");
    expect(await reason(await sign({ payload: { customer: null } }))).toBe("invalid-claims");
    expect(await reason("not a token")).toBe("malformed");
    expect(await reason("a.b.c")).toBe("malformed");
    expect(await reason("")).toBe("malformed");
  });

  it("ignores non-Ed25519 keys in the set even under the right kid", async () => {
    const hmacLike = { keys: [{ kty: "oct", k: b64url("secret"), kid: "k1" } as JWK] };
    expect(await reason(await sign(), hmacLike)).toBe("unknown-key");
  });

  it("does not let a forged HS256 header with an oct key in the set through", async () => {
    const header = b64url({ alg: "HS256", kid: "k1" });
    const payload = (await sign()).split(".")[1];
    const sig = createHmac("sha256", "secret").update(`${header}.${payload}`).digest("base64url");
    const withOct = { keys: [...jwks.keys, { kty: "oct", k: b64url("secret"), kid: "k1" } as JWK] };
    expect(await reason(`${header}.${payload}.${sig}`, withOct)).toBe("algorithm-not-allowed");
  });
});
