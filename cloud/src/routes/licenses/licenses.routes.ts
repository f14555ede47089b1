// OpenAPI definitions of /v1/licenses: viewers read; operators create, change, suspend/reinstate/revoke, issue tokens.
import { createRoute, z } from "@hono/zod-openapi";
import { entitlementsSchema } from "../../../../shared/src/license.ts";
import { bearerSecurity, requireRole } from "../../lib/auth.ts";
import { errorResponses, IdParams, isoDate, jsonBody, jsonContent } from "../../lib/openapi.ts";
import { pageSchema, paginationQuery } from "../../lib/pagination.ts";

const tags = ["Licenses"];
const states = ["active", "suspended", "revoked"] as const;

// Same fields as the shared claims schema (single source); re-wrapped so that it carries OpenAPI metadata.
export const EntitlementsSchema = z.object(entitlementsSchema.shape).openapi("Entitlements", {
  example: { maxWorkerNodes: 3, maxHubs: 1, updateChannel: "stable", features: ["support-bundle"] },
});

export const LicenseSchema = z
  .object({
    id: z.string().openapi({ example: "lic_01JD6Z8Q3W5Y2M4N6P8R0T2V4X" }),
    customerId: z.string(),
    state: z.enum(states),
    stateReason: z.string().nullable(),
    stateChangedAt: z.string().nullable(),
    entitlements: EntitlementsSchema,
    notes: z.string(),
    expiresAt: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("License");

export const CreateLicenseSchema = z
  .object({
    customerId: z.string().min(1).max(64),
    expiresAt: isoDate("expiry; the token's `exp`"),
    entitlements: EntitlementsSchema,
    notes: z.string().max(4000).optional(),
  })
  .strict()
  .openapi("CreateLicense");

export const UpdateLicenseSchema = z
  .object({
    expiresAt: isoDate().optional(),
    entitlements: EntitlementsSchema.optional(),
    notes: z.string().max(4000).optional(),
  })
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: "give at least one field to change" })
  .openapi("UpdateLicense");

export const StateChangeSchema = z
  .object({ reason: z.string().trim().min(1).max(500).optional() })
  .strict()
  .openapi("LicenseStateChange");

export const LicenseTokenSchema = z
  .object({
    token: z.string().openapi({ description: "EdDSA-signed JWT; verify with /.well-known/jwks.json" }),
    kid: z.string(),
    jti: z.string(),
    expiresAt: z.string(),
  })
  .openapi("LicenseToken");

export const create = createRoute({
  method: "post",
  path: "/v1/licenses",
  tags,
  summary: "Issue a license to a customer",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: { body: jsonBody(CreateLicenseSchema) },
  responses: { 201: jsonContent(LicenseSchema, "the license"), ...errorResponses(404) },
});

export const list = createRoute({
  method: "get",
  path: "/v1/licenses",
  tags,
  summary: "List licenses, newest first",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: {
    query: paginationQuery.extend({ customerId: z.string().max(64).optional(), state: z.enum(states).optional() }),
  },
  responses: { 200: jsonContent(pageSchema(LicenseSchema, "LicensePage"), "a page of licenses"), ...errorResponses() },
});

export const get = createRoute({
  method: "get",
  path: "/v1/licenses/{id}",
  tags,
  summary: "Get a license",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: { params: IdParams },
  responses: { 200: jsonContent(LicenseSchema, "the license"), ...errorResponses(404) },
});

export const update = createRoute({
  method: "patch",
  path: "/v1/licenses/{id}",
  tags,
  summary: "Change a license's expiry, entitlements or notes",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: { params: IdParams, body: jsonBody(UpdateLicenseSchema) },
  responses: { 200: jsonContent(LicenseSchema, "the changed license"), ...errorResponses(404, 409) },
});

function stateRoute(verb: "suspend" | "reinstate" | "revoke", summary: string) {
  return createRoute({
    method: "post",
    path: `/v1/licenses/{id}/${verb}`,
    tags,
    summary,
    security: bearerSecurity,
    middleware: [requireRole("operator")] as const,
    request: {
      params: IdParams,
      body: { content: { "application/json": { schema: StateChangeSchema } }, required: false },
    },
    responses: { 200: jsonContent(LicenseSchema, "the license in its new state"), ...errorResponses(404, 409) },
  });
}

export const suspend = stateRoute("suspend", "Suspend a license (its tunnels close; reinstating restores it)");
export const reinstate = stateRoute("reinstate", "Reinstate a suspended license");
export const revoke = stateRoute("revoke", "Revoke a license for good");

export const token = createRoute({
  method: "get",
  path: "/v1/licenses/{id}/token",
  tags,
  summary: "Issue a signed license token (exp = the license's expiry)",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: { params: IdParams },
  responses: { 200: jsonContent(LicenseTokenSchema, "the token"), ...errorResponses(404, 409) },
});
