// OpenAPI definitions of the fleet API: list, summary, per-appliance timeline (viewers) and pins (operators).
import { createRoute, z } from "@hono/zod-openapi";
import { bearerSecurity, requireRole } from "../../lib/auth.ts";
import { errorResponses, IdParams, jsonBody, jsonContent } from "../../lib/openapi.ts";
import { MAX_PAGE_SIZE } from "../../lib/pagination.ts";
import { fleetSorts, fleetStatuses } from "../../services/fleet.ts";

const tags = ["Fleet"];

export const FleetQuery = z.object({
  status: z.enum(fleetStatuses).optional(),
  channel: z.string().max(40).optional(),
  customerId: z.string().max(64).optional(),
  tag: z.string().max(64).optional(),
  version: z.string().max(64).optional().openapi({ description: "chart version the appliance runs" }),
  k8sVersion: z.string().max(64).optional(),
  minVersionsBehind: z.coerce.number().int().min(0).max(10_000).optional(),
  q: z.string().max(200).optional().openapi({ description: "search inside appliance names, or an exact appliance id" }),
  sort: z.enum(fleetSorts).default("name"),
  cursor: z.string().max(500).optional(),
  limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50),
});

export const FleetApplianceSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    customer: z.object({ id: z.string(), name: z.string() }),
    status: z.enum(fleetStatuses),
    lastSeenAt: z.string().nullable(),
    agentVersion: z.string().nullable(),
    chartVersion: z.string().nullable(),
    releaseId: z.string().nullable(),
    channel: z.string().nullable(),
    pinnedReleaseId: z.string().nullable(),
    versionsBehind: z.number().int().nullable(),
    kubernetesVersion: z.string().nullable(),
    tags: z.array(z.string()),
  })
  .openapi("FleetAppliance");

export const list = createRoute({
  method: "get",
  path: "/v1/fleet/appliances",
  tags,
  summary: "List, search, filter and sort the fleet (keyset pages)",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: { query: FleetQuery },
  responses: {
    200: jsonContent(
      z.object({ items: z.array(FleetApplianceSchema), nextCursor: z.string().nullable() }).openapi("FleetPage"),
      "a page of appliances",
    ),
    ...errorResponses(),
  },
});

export const summary = createRoute({
  method: "get",
  path: "/v1/fleet/summary",
  tags,
  summary: "Fleet counts by status, version and channel",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  responses: {
    200: jsonContent(
      z
        .object({
          total: z.number().int(),
          online: z.number().int(),
          offline: z.number().int(),
          degraded: z.number().int(),
          pinned: z.number().int(),
          byVersion: z.array(z.object({ version: z.string().nullable(), count: z.number().int() })),
          byChannel: z.array(z.object({ channel: z.string().nullable(), count: z.number().int() })),
        })
        .openapi("FleetSummary"),
      "the counts",
    ),
    ...errorResponses(),
  },
});

export const timeline = createRoute({
  method: "get",
  path: "/v1/fleet/appliances/{id}/timeline",
  tags,
  summary: "An appliance's events, versions, rollout transitions and commands, newest first",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: {
    params: IdParams,
    query: z.object({
      cursor: z.string().max(500).optional(),
      limit: z.coerce.number().int().min(1).max(MAX_PAGE_SIZE).default(50),
    }),
  },
  responses: {
    200: jsonContent(
      z
        .object({
          items: z.array(
            z.object({
              at: z.string(),
              kind: z.enum(["event", "version", "rollout", "command"]),
              summary: z.string(),
              details: z.record(z.string(), z.unknown()),
            }),
          ),
          nextCursor: z.string().nullable(),
        })
        .openapi("Timeline"),
      "a page of the timeline",
    ),
    ...errorResponses(404),
  },
});

export const pin = createRoute({
  method: "post",
  path: "/v1/appliances/{id}/pin",
  tags,
  summary: "Pin an appliance to a release (it leaves rollouts and moves to it), or unpin it with null",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: {
    params: IdParams,
    body: jsonBody(z.object({ releaseId: z.string().min(1).max(64).nullable() }).strict()),
  },
  responses: {
    200: jsonContent(
      z
        .object({
          applianceId: z.string(),
          pinnedReleaseId: z.string().nullable(),
          pinnedAt: z.string().nullable(),
          desiredGeneration: z.number().int().nullable(),
        })
        .openapi("Pin"),
      "the pin",
    ),
    ...errorResponses(404, 409),
  },
});
