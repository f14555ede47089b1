// Enrollment contract: what the agent sends to POST /v1/enroll and what it gets back.
import { z } from "zod";
import { clusterFactsSchema } from "./frames.ts";

export const ENROLL_PATH = "/v1/enroll";

export const ed25519PublicJwkSchema = z.object({
  kty: z.literal("OKP"),
  crv: z.literal("Ed25519"),
  x: z.string().regex(/^[A-Za-z0-9_-]{43}$/, "32 bytes, base64url"),
});
export type Ed25519PublicJwk = z.infer<typeof ed25519PublicJwkSchema>;

export const enrollRequestSchema = z.object({
  licenseToken: z.string().min(20).max(8192),
  publicKey: ed25519PublicJwkSchema,
  name: z.string().min(1).max(128).optional(),
  role: z.enum(["hub"]).default("hub"),
  agentVersion: z.string().max(64).optional(),
  facts: clusterFactsSchema,
});
export type EnrollRequest = z.input<typeof enrollRequestSchema>;

export const enrollResponseSchema = z.object({
  applianceId: z.string(),
  /** ws(s) URL of the tunnel */
  tunnelUrl: z.string(),
  /** the `aud` the agent's tokens must carry */
  audience: z.string(),
  /** false when the same key had already enrolled (idempotent replay) */
  created: z.boolean(),
});
export type EnrollResponse = z.infer<typeof enrollResponseSchema>;
