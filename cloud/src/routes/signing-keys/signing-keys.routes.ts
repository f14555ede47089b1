// OpenAPI definitions of /v1/signing-keys (admins) and the public /.well-known/jwks.json.
import { createRoute, z } from "@hono/zod-openapi";
import { bearerSecurity, requireRole } from "../../lib/auth.ts";
import { errorResponses, jsonContent } from "../../lib/openapi.ts";
import { pageSchema, paginationQuery } from "../../lib/pagination.ts";

const tags = ["Signing keys"];

export const SigningKeySchema = z
  .object({
    kid: z.string(),
    state: z.enum(["active", "verify-only", "retired"]),
    publicJwk: z.record(z.string(), z.unknown()),
    createdAt: z.string(),
    rotatedAt: z.string().nullable(),
    retiredAt: z.string().nullable(),
  })
  .openapi("SigningKey");

export const JwksSchema = z
  .object({ keys: z.array(z.record(z.string(), z.unknown())) })
  .openapi("JWKS", { description: "RFC 7517 key set: Ed25519 public keys (kty OKP) that verify license tokens" });

export const list = createRoute({
  method: "get",
  path: "/v1/signing-keys",
  tags,
  summary: "List this organisation's license signing keys",
  security: bearerSecurity,
  middleware: [requireRole("admin")] as const,
  request: { query: paginationQuery },
  responses: {
    200: jsonContent(pageSchema(SigningKeySchema, "SigningKeyPage"), "a page of keys"),
    ...errorResponses(),
  },
});

export const rotate = createRoute({
  method: "post",
  path: "/v1/signing-keys/rotate",
  tags,
  summary: "Make a new active key; the previous one keeps verifying until retired",
  security: bearerSecurity,
  middleware: [requireRole("admin")] as const,
  responses: { 201: jsonContent(SigningKeySchema, "the new active key"), ...errorResponses(409) },
});

export const retire = createRoute({
  method: "post",
  path: "/v1/signing-keys/{kid}/retire",
  tags,
  summary: "Retire a verify-only key: tokens it signed stop verifying",
  security: bearerSecurity,
  middleware: [requireRole("admin")] as const,
  request: {
    params: z.object({
      kid: z
        .string()
        .min(1)
        .max(64)
        .openapi({ param: { name: "kid", in: "path" } }),
    }),
  },
  responses: { 200: jsonContent(SigningKeySchema, "the retired key"), ...errorResponses(404, 409) },
});

export const jwks = createRoute({
  method: "get",
  path: "/.well-known/jwks.json",
  tags,
  summary: "Public keys that verify license tokens (no authentication)",
  security: [],
  responses: { 200: jsonContent(JwksSchema, "the key set") },
});
