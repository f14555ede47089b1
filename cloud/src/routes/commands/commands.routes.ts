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
  summary: "Queue a command; it is delivered when the agent is connected, at most once",
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
