// The license token contract: claims schema and offline verification (EdDSA only), used by cloud, agent and runner-ctl.
import { createLocalJWKSet, decodeProtectedHeader, type JSONWebKeySet, errors as joseErrors, jwtVerify } from "jose";
import { z } from "zod";

export const LICENSE_ISSUER = "camel-ops-cloud";
export const LICENSE_AUDIENCE = "camel-ops-runner";
export const DEFAULT_CLOCK_SKEW_SECONDS = 60;

export const updateChannelSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "lowercase letters, digits and dashes, at most 40 characters");

export const entitlementsSchema = z.object({
  maxWorkerNodes: z.number().int().min(0).max(10_000),
  maxHubs: z.number().int().min(1).max(100).default(1),
  updateChannel: updateChannelSchema,
  features: z.array(z.string().min(1).max(64)).max(64).default([]),
});
export type Entitlements = z.infer<typeof entitlementsSchema>;

export const licenseClaimsSchema = z.object({
  iss: z.string(),
  aud: z.union([z.string(), z.array(z.string())]),
  sub: z.string().describe("license id"),
  jti: z.string(),
  iat: z.number().int(),
  nbf: z.number().int(),
  exp: z.number().int(),
  org: z.string().describe("vendor organisation id"),
  customer: z.object({ id: z.string(), name: z.string() }),
  entitlements: entitlementsSchema,
});
export type LicenseClaims = z.infer<typeof licenseClaimsSchema>;

export type LicenseVerifyFailure =
  | "malformed"
  | "algorithm-not-allowed"
  | "unknown-key"
  | "bad-signature"
  | "expired"
  | "not-yet-valid"
  | "wrong-issuer"
  | "wrong-audience"
  | "invalid-claims";

export class LicenseVerifyError extends Error {
  readonly reason: LicenseVerifyFailure;
  constructor(reason: LicenseVerifyFailure, message: string) {
    super(message);
    this.name = "LicenseVerifyError";
    this.reason = reason;
  }
}

export interface VerifyOptions {
  now?: Date;
  issuer?: string;
  audience?: string;
  clockSkewSeconds?: number;
}

/** Verifies a license token offline against a JWKS document; throws LicenseVerifyError with a reason. */
export async function verifyLicenseToken(
  token: string,
  jwks: JSONWebKeySet,
  options: VerifyOptions = {},
): Promise<LicenseClaims> {
  let header: ReturnType<typeof decodeProtectedHeader>;
  try {
    header = decodeProtectedHeader(token);
  } catch {
    throw new LicenseVerifyError(
      "malformed",
      "the token is not a JWS compact serialisation (header.payload.signature)",
    );
  }
  if (header.alg !== "EdDSA" && header.alg !== "Ed25519") {
    throw new LicenseVerifyError(
      "algorithm-not-allowed",
      `the token is signed with alg "${String(header.alg)}"; only EdDSA (Ed25519) license tokens are accepted`,
    );
  }
  if (typeof header.kid !== "string" || !jwks.keys.some((k) => k.kid === header.kid)) {
    throw new LicenseVerifyError("unknown-key", `no published key has kid "${String(header.kid)}"`);
  }
  const keys = { keys: jwks.keys.filter((k) => k.kty === "OKP" && k.crv === "Ed25519") };
  try {
    const { payload } = await jwtVerify(token, createLocalJWKSet(keys), {
      algorithms: ["EdDSA", "Ed25519"],
      issuer: options.issuer ?? LICENSE_ISSUER,
      audience: options.audience ?? LICENSE_AUDIENCE,
      clockTolerance: options.clockSkewSeconds ?? DEFAULT_CLOCK_SKEW_SECONDS,
      currentDate: options.now,
      requiredClaims: ["exp", "nbf", "iat", "sub", "jti"],
    });
    const parsed = licenseClaimsSchema.safeParse(payload);
    if (!parsed.success) {
      const first = parsed.error.issues[0];
      throw new LicenseVerifyError("invalid-claims", `claim ${first?.path.join(".")}: ${first?.message}`);
    }
    return parsed.data;
  } catch (err) {
    if (err instanceof LicenseVerifyError) throw err;
    if (err instanceof joseErrors.JWTExpired) throw new LicenseVerifyError("expired", "the license has expired");
    if (err instanceof joseErrors.JWTClaimValidationFailed) {
      if (err.claim === "nbf") throw new LicenseVerifyError("not-yet-valid", "the license is not valid yet (nbf)");
      if (err.claim === "iss") throw new LicenseVerifyError("wrong-issuer", "the token was not issued by this cloud");
      if (err.claim === "aud") throw new LicenseVerifyError("wrong-audience", "the token is not meant for a runner");
      throw new LicenseVerifyError("invalid-claims", `claim ${err.claim}: ${err.reason}`);
    }
    if (err instanceof joseErrors.JWSSignatureVerificationFailed) {
      throw new LicenseVerifyError("bad-signature", "the signature does not match the token's contents");
    }
    if (err instanceof joseErrors.JWKSNoMatchingKey) {
      throw new LicenseVerifyError("unknown-key", `no published Ed25519 key has kid "${String(header.kid)}"`);
    }
    if (err instanceof joseErrors.JOSEAlgNotAllowed || err instanceof joseErrors.JOSENotSupported) {
      throw new LicenseVerifyError("algorithm-not-allowed", "only EdDSA (Ed25519) license tokens are accepted");
    }
    throw new LicenseVerifyError("malformed", `the token could not be verified: ${(err as Error).message}`);
  }
}
