// OpenAPI definitions of /v1/webhooks: admins register and switch endpoints, viewers read them and their deliveries.
import { createRoute, z } from "@hono/zod-openapi";
import { alertEvents } from "../../db/schema/webhooks.ts";
import { bearerSecurity, requireRole } from "../../lib/auth.ts";
import { errorResponses, IdParams, jsonBody, jsonContent } from "../../lib/openapi.ts";
import { pageSchema, paginationQuery } from "../../lib/pagination.ts";

const tags = ["Webhooks"];

export const WebhookSchema = z
  .object({
    id: z.string(),
    url: z.string(),
    description: z.string(),
    events: z.array(z.enum(alertEvents)),
    active: z.boolean(),
    createdBy: z.string(),
    createdAt: z.string(),
  })
  .openapi("Webhook");

export const DeliverySchema = z
  .object({
    id: z.string(),
    event: z.enum(alertEvents),
    state: z.enum(["pending", "succeeded", "failed"]),
    attempts: z.number().int(),
    nextAttemptAt: z.string().nullable(),
    createdAt: z.string(),
    finishedAt: z.string().nullable(),
    payload: z.record(z.string(), z.unknown()),
    log: z.array(
      z.object({
        at: z.string(),
        status: z.number().int().optional(),
        error: z.string().optional(),
        durationMs: z.number(),
      }),
    ),
  })
  .openapi("WebhookDelivery");

export const create = createRoute({
  method: "post",
  path: "/v1/webhooks",
  tags,
  summary: "Register an alert webhook; the signing secret is shown only in this answer",
  security: bearerSecurity,
  middleware: [requireRole("admin")] as const,
  request: {
    body: jsonBody(
      z
        .object({
          url: z.url().max(2048),
          events: z.array(z.enum(alertEvents)).min(1).max(alertEvents.length),
          description: z.string().max(500).optional(),
        })
        .strict(),
    ),
  },
  responses: {
    201: jsonContent(
      WebhookSchema.extend({ secret: z.string() }).openapi("CreatedWebhook"),
      "the webhook and its secret",
    ),
    ...errorResponses(),
  },
});

export const list = createRoute({
  method: "get",
  path: "/v1/webhooks",
  tags,
  summary: "List webhooks",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  responses: { 200: jsonContent(pageSchema(WebhookSchema, "WebhookPage"), "the webhooks"), ...errorResponses() },
});

export const setActive = createRoute({
  method: "post",
  path: "/v1/webhooks/{id}/{action}",
  tags,
  summary: "Enable or disable a webhook",
  security: bearerSecurity,
  middleware: [requireRole("admin")] as const,
  request: {
    params: IdParams.extend({
      action: z.enum(["enable", "disable"]).openapi({ param: { name: "action", in: "path" } }),
    }),
  },
  responses: { 200: jsonContent(WebhookSchema, "the webhook"), ...errorResponses(404) },
});

export const deliveries = createRoute({
  method: "get",
  path: "/v1/webhooks/{id}/deliveries",
  tags,
  summary: "A webhook's delivery log, newest first (each attempt with status, error and duration)",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: { params: IdParams, query: paginationQuery },
  responses: {
    200: jsonContent(pageSchema(DeliverySchema, "DeliveryPage"), "a page of deliveries"),
    ...errorResponses(404),
  },
});
