// OpenAPI definitions of commands: create and list per appliance, read one by id.
import { createRoute, z } from "@hono/zod-openapi";
import { commandStatuses } from "../../db/schema/commands.ts";
import { bearerSecurity, requireRole } from "../../lib/auth.ts";
import { errorResponses, IdParams, jsonBody, jsonContent } from "../../lib/openapi.ts";
import { pageSchema, paginationQuery } from "../../lib/pagination.ts";
import { commandTypes } from "../../tunnel/commands.ts";

const tags = ["Commands"];

export const CommandSchema = z
  .object({
    id: z.string().openapi({ example: "cmd_01JD6Z8Q3W5Y2M4N6P8R0T2V4X" }),
    applianceId: z.string(),
    seq: z.number().int(),
    type: z.string(),
    args: z.record(z.string(), z.unknown()),
    status: z.enum(commandStatuses),
    createdBy: z.string(),
    createdAt: z.string(),
    expiresAt: z.string(),
    deliveredAt: z.string().nullable(),
    startedAt: z.string().nullable(),
    finishedAt: z.string().nullable(),
    result: z.unknown().nullable(),
    error: z.string().nullable(),
  })
  .openapi("Command");

export const CreateCommandSchema = z
  .object({
    type: z.enum(commandTypes),
    args: z.record(z.string(), z.unknown()).default({}),
    ttlSeconds: z
      .number()
      .int()
      .min(1)
      .max(7 * 24 * 3600)
      .optional(),
    idempotencyKey: z.string().min(1).max(128).optional(),
  })
  .strict()
  .openapi("CreateCommand");

export const create = createRoute({
  method: "post",
  path: "/v1/appliances/{id}/commands",
  tags,
  summary:
    "Queue an echo (a round trip through the tunnel and the agent); delivered when the agent is connected, at most once",
  description:
    "The agent answers `echo` with its arguments and its clock, touching nothing in the cluster: a check that the link and the outbox work end to end. Support actions (workloads, logs, Helm, bundles) have their own route, POST /v1/appliances/{id}/support/{action}.",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: { params: IdParams, body: jsonBody(CreateCommandSchema) },
  responses: { 201: jsonContent(CommandSchema, "the queued command"), ...errorResponses(404) },
});

export const list = createRoute({
  method: "get",
  path: "/v1/appliances/{id}/commands",
  tags,
  summary: "Commands of an appliance, newest first",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: { params: IdParams, query: paginationQuery },
  responses: {
    200: jsonContent(pageSchema(CommandSchema, "CommandPage"), "a page of commands"),
    ...errorResponses(404),
  },
});

export const get = createRoute({
  method: "get",
  path: "/v1/commands/{id}",
  tags,
  summary: "One command with its status and result",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: { params: IdParams },
  responses: { 200: jsonContent(CommandSchema, "the command"), ...errorResponses(404) },
});

export const StreamQuery = z.object({
  after: z.coerce.number().int().min(0).optional().openapi({
    description: "start after this chunk seq (a reconnecting EventSource sends Last-Event-ID instead)",
    example: 0,
  }),
});

export const stream = createRoute({
  method: "get",
  path: "/v1/commands/{id}/stream",
  tags,
  summary: "Follow a streaming command's output (support logs with follow) as Server-Sent Events",
  description:
    "Each stored chunk is an event `chunk` whose id is its seq and whose data is the log text (lines joined by newlines, secrets redacted by the agent). When the command has finished and every chunk was sent, a last event `end` carries the command as JSON (status, and the result: why the follow ended, lines and bytes). Reading resumes from `after` or `Last-Event-ID`; chunks are kept 24 hours. Needs the role of the command's action (operator for logs).",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: { params: IdParams, query: StreamQuery },
  responses: {
    200: { description: "the event stream", content: { "text/event-stream": { schema: z.string() } } },
    ...errorResponses(404, 409),
  },
});

export const StopStreamSchema = z
  .object({ id: z.string(), status: z.enum(commandStatuses), stopping: z.boolean() })
  .openapi("StopStream");

export const stopStream = createRoute({
  method: "delete",
  path: "/v1/commands/{id}/stream",
  tags,
  summary: "Stop a streaming command (the agent ends the follow; the command finishes with its result); audited",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: { params: IdParams },
  responses: {
    202: jsonContent(StopStreamSchema, "the agent is told to stop (stopping: false when it had already finished)"),
    ...errorResponses(404, 409),
  },
});
