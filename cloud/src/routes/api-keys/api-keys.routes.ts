// OpenAPI definitions of /v1/api-keys (admins only) and GET /v1/me (any role).
import { createRoute, z } from "@hono/zod-openapi";
import { bearerSecurity, requireRole } from "../../lib/auth.ts";
import { roles } from "../../lib/context.ts";
import { errorResponses, IdParams, jsonBody, jsonContent } from "../../lib/openapi.ts";
import { pageSchema, paginationQuery } from "../../lib/pagination.ts";

const tags = ["API keys"];

export const ApiKeySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    prefix: z.string().openapi({ description: "the visible start of the key", example: "cok_3F9aK2pQ" }),
    role: z.enum(roles),
    createdAt: z.string(),
    createdBy: z.string().nullable(),
    lastUsedAt: z.string().nullable().openapi({ description: "updated at most once a minute" }),
    revokedAt: z.string().nullable(),
  })
  .openapi("ApiKey");

export const CreatedApiKeySchema = ApiKeySchema.extend({
  secret: z.string().openapi({ description: "the key itself; shown once, store it now" }),
}).openapi("CreatedApiKey");

export const CreateApiKeySchema = z
  .object({ name: z.string().trim().min(1).max(100), role: z.enum(roles) })
  .strict()
  .openapi("CreateApiKey");

export const MeSchema = z
  .object({
    organisation: z.object({ id: z.string(), name: z.string() }),
    role: z.enum(roles),
    apiKey: z.object({ id: z.string(), name: z.string(), prefix: z.string() }).nullable(),
  })
  .openapi("Me");

export const create = createRoute({
  method: "post",
  path: "/v1/api-keys",
  tags,
  summary: "Create an API key (the secret is returned once)",
  security: bearerSecurity,
  middleware: [requireRole("admin")] as const,
  request: { body: jsonBody(CreateApiKeySchema) },
  responses: { 201: jsonContent(CreatedApiKeySchema, "the key and its secret"), ...errorResponses() },
});

export const list = createRoute({
  method: "get",
  path: "/v1/api-keys",
  tags,
  summary: "List API keys (never their secrets)",
  security: bearerSecurity,
  middleware: [requireRole("admin")] as const,
  request: { query: paginationQuery },
  responses: { 200: jsonContent(pageSchema(ApiKeySchema, "ApiKeyPage"), "a page of keys"), ...errorResponses() },
});

export const revoke = createRoute({
  method: "delete",
  path: "/v1/api-keys/{id}",
  tags,
  summary: "Revoke an API key",
  security: bearerSecurity,
  middleware: [requireRole("admin")] as const,
  request: { params: IdParams },
  responses: { 200: jsonContent(ApiKeySchema, "the revoked key"), ...errorResponses(404, 409) },
});

export const me = createRoute({
  method: "get",
  path: "/v1/me",
  tags,
  summary: "The organisation and role of the calling key",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  responses: { 200: jsonContent(MeSchema, "who is calling"), ...errorResponses() },
});
