// The agent's per-connection credential: a short-lived EdDSA JWT signed with the key bound at enrollment.
import { randomUUID } from "node:crypto";
import { type CryptoKey, type JWK, type KeyObject, SignJWT } from "jose";

/** Upper bound the gateway accepts for exp - iat (and for exp - now). */
export const AGENT_TOKEN_MAX_TTL_SECONDS = 300;
export const AGENT_TOKEN_DEFAULT_TTL_SECONDS = 120;

export interface AgentTokenInput {
  applianceId: string;
  audience: string;
  privateKey: CryptoKey | KeyObject | JWK | Uint8Array;
  ttlSeconds?: number;
  now?: Date;
}

/** header: alg EdDSA, kid = appliance id; claims: iss = sub = appliance id, aud, iat, exp, jti. */
export async function signAgentToken(input: AgentTokenInput): Promise<string> {
  const iat = Math.floor((input.now ?? new Date()).getTime() / 1000);
  return new SignJWT({})
    .setProtectedHeader({ alg: "EdDSA", kid: input.applianceId, typ: "JWT" })
    .setIssuer(input.applianceId)
    .setSubject(input.applianceId)
    .setAudience(input.audience)
    .setIssuedAt(iat)
    .setExpirationTime(iat + (input.ttlSeconds ?? AGENT_TOKEN_DEFAULT_TTL_SECONDS))
    .setJti(randomUUID())
    .sign(input.privateKey as CryptoKey);
}
