// OpenAPI definition of GET /v1/audit: the organisation's audit log, newest first, with filters.
import { createRoute, z } from "@hono/zod-openapi";
import { bearerSecurity, requireRole } from "../../lib/auth.ts";
import { errorResponses, jsonContent } from "../../lib/openapi.ts";
import { pageSchema, paginationQuery } from "../../lib/pagination.ts";

export const AuditEntrySchema = z
  .object({
    id: z.string(),
    actor: z.string().openapi({ example: "key:key_01JD6Z8Q3W5Y2M4N6P8R0T2V4X" }),
    action: z.string().openapi({ example: "license.suspended" }),
    targetType: z.string(),
    targetId: z.string(),
    summary: z.record(z.string(), z.unknown()),
    requestId: z.string().nullable(),
    at: z.string(),
  })
  .openapi("AuditEntry");

export const list = createRoute({
  method: "get",
  path: "/v1/audit",
  tags: ["Audit"],
  summary: "List audit entries, newest first",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: {
    query: paginationQuery.extend({
      action: z.string().max(100).optional().openapi({ example: "license.revoked" }),
      targetId: z.string().max(64).optional(),
      actor: z.string().max(100).optional(),
    }),
  },
  responses: {
    200: jsonContent(pageSchema(AuditEntrySchema, "AuditPage"), "a page of audit entries"),
    ...errorResponses(),
  },
});
