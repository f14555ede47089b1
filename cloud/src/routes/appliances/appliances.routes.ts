// OpenAPI definitions of /v1/appliances: presence, desired state, disable/enable, telemetry.
import { createRoute, z } from "@hono/zod-openapi";
import { bearerSecurity, requireRole } from "../../lib/auth.ts";
import { errorResponses, IdParams, isoDate, jsonBody, jsonContent } from "../../lib/openapi.ts";
import { pageSchema, paginationQuery } from "../../lib/pagination.ts";

const tags = ["Appliances"];

export const ReleaseRefSchema = z
  .object({
    id: z.string().max(64),
    chartVersion: z.string().max(64),
    chartDigest: z.string().max(128),
    chartUrl: z.string().max(2048),
  })
  .openapi("ReleaseRef");

export const DesiredStateSchema = z
  .object({
    generation: z.number().int(),
    release: ReleaseRefSchema.nullable(),
    values: z.record(z.string(), z.unknown()),
    valuesDigest: z.string(),
  })
  .openapi("DesiredState");

export const ApplianceSchema = z
  .object({
    id: z.string().openapi({ example: "apl_01JD6Z8Q3W5Y2M4N6P8R0T2V4X" }),
    name: z.string(),
    customerId: z.string(),
    licenseId: z.string(),
    role: z.enum(["hub"]),
    state: z.enum(["active", "disabled"]),
    presence: z.object({
      status: z.enum(["online", "offline"]),
      lastSeenAt: z.string().nullable(),
      connectedAt: z.string().nullable(),
      disconnectedAt: z.string().nullable(),
      agentVersion: z.string().nullable(),
    }),
    facts: z.record(z.string(), z.unknown()).nullable(),
    observedGeneration: z.number().int(),
    lastApply: z.record(z.string(), z.unknown()).nullable(),
    desired: DesiredStateSchema.nullable().optional(),
    createdAt: z.string(),
  })
  .openapi("Appliance");

export const list = createRoute({
  method: "get",
  path: "/v1/appliances",
  tags,
  summary: "List appliances with presence, newest first",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: {
    query: paginationQuery.extend({
      licenseId: z.string().max(64).optional(),
      customerId: z.string().max(64).optional(),
    }),
  },
  responses: {
    200: jsonContent(pageSchema(ApplianceSchema, "AppliancePage"), "a page of appliances"),
    ...errorResponses(),
  },
});

export const get = createRoute({
  method: "get",
  path: "/v1/appliances/{id}",
  tags,
  summary: "One appliance: presence, facts, desired and observed state",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: { params: IdParams },
  responses: { 200: jsonContent(ApplianceSchema, "the appliance"), ...errorResponses(404) },
});

const StateChange = z.object({ reason: z.string().trim().min(1).max(500).optional() }).strict();

export const disable = createRoute({
  method: "post",
  path: "/v1/appliances/{id}/disable",
  tags,
  summary: "Disable an appliance: its tunnel closes within seconds and reconnections are refused",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: { params: IdParams, body: { ...jsonBody(StateChange), required: false } },
  responses: { 200: jsonContent(ApplianceSchema, "the appliance"), ...errorResponses(404) },
});

export const enable = createRoute({
  method: "post",
  path: "/v1/appliances/{id}/enable",
  tags,
  summary: "Enable a disabled appliance",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: { params: IdParams, body: { ...jsonBody(StateChange), required: false } },
  responses: { 200: jsonContent(ApplianceSchema, "the appliance"), ...errorResponses(404) },
});

export const PutDesiredSchema = z
  .object({
    release: ReleaseRefSchema.nullable(),
    values: z.record(z.string(), z.unknown()),
    valuesDigest: z.string().min(1).max(128),
  })
  .strict()
  .openapi("PutDesiredState");

export const putDesired = createRoute({
  method: "put",
  path: "/v1/appliances/{id}/desired-state",
  tags,
  summary: "Set the desired state (a new generation); rollouts normally do this",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: { params: IdParams, body: jsonBody(PutDesiredSchema) },
  responses: { 200: jsonContent(DesiredStateSchema, "the stored desired state"), ...errorResponses(404) },
});

export const TelemetryEventSchema = z
  .object({
    seq: z.number().int(),
    kind: z.string(),
    at: z.string(),
    data: z.record(z.string(), z.unknown()),
    receivedAt: z.string(),
  })
  .openapi("TelemetryEvent");

export const events = createRoute({
  method: "get",
  path: "/v1/appliances/{id}/events",
  tags,
  summary: "Agent events (state changes, apply results), by seq",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: {
    params: IdParams,
    query: z.object({
      afterSeq: z.coerce.number().int().min(0).optional(),
      kind: z.string().max(64).optional(),
      limit: z.coerce.number().int().min(1).max(1000).default(100),
    }),
  },
  responses: { 200: jsonContent(z.object({ items: z.array(TelemetryEventSchema) }), "events"), ...errorResponses(404) },
});

export const MetricSampleSchema = z
  .object({ name: z.string(), at: z.string(), value: z.number(), labels: z.record(z.string(), z.string()).nullable() })
  .openapi("MetricSample");

export const metrics = createRoute({
  method: "get",
  path: "/v1/appliances/{id}/metrics",
  tags,
  summary: "Metric samples, newest first",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: {
    params: IdParams,
    query: z.object({
      name: z.string().max(128).optional(),
      since: isoDate().optional(),
      until: isoDate().optional(),
      limit: z.coerce.number().int().min(1).max(5000).default(500),
    }),
  },
  responses: { 200: jsonContent(z.object({ items: z.array(MetricSampleSchema) }), "samples"), ...errorResponses(404) },
});
