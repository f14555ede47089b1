// OpenAPI definition of the support actions: POST /v1/appliances/{id}/support/{action}, role-gated per action.
import { createRoute, z } from "@hono/zod-openapi";
import { SUPPORT_COMMANDS, supportActionOf } from "../../../../shared/src/protocol/support.ts";
import { bearerSecurity, requireRole } from "../../lib/auth.ts";
import { errorResponses, IdParams, jsonBody, jsonContent } from "../../lib/openapi.ts";
import { CommandSchema } from "../commands/commands.routes.ts";

const tags = ["Support"];

export const SupportParams = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "apl_01JD6Z8Q3W5Y2M4N6P8R0T2V4X" }),
  action: z
    .enum(SUPPORT_COMMANDS.map(supportActionOf) as [string, ...string[]])
    .openapi({ param: { name: "action", in: "path" }, example: "workloads" }),
});

export const SupportRequestSchema = z
  .object({
    /** the action's arguments (see shared/src/protocol/support.ts) */
    args: z.record(z.string(), z.unknown()).default({}),
    /** how long to wait for the agent's result before answering 202 with the command */
    waitMs: z.number().int().min(0).max(30_000).default(15_000),
  })
  .strict()
  .openapi("SupportRequest");

export const SupportResultSchema = z.object({ done: z.boolean(), command: CommandSchema }).openapi("SupportResult");

export const run = createRoute({
  method: "post",
  path: "/v1/appliances/{id}/support/{action}",
  tags,
  summary:
    "Run an allow-listed support action in the appliance (workloads, events, logs, helm-status, helm-history, helm-values, http, bundle); audited",
  description:
    "Viewers may run workloads, events, helm-status and helm-history; logs, helm-values, http and bundle need the operator role. The agent runs the action under its own service account and redacts secrets. Answers 200 with the result when the agent finishes within waitMs, else 202 with the queued command (poll GET /v1/commands/{id}).",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: { params: SupportParams, body: { ...jsonBody(SupportRequestSchema), required: false } },
  responses: {
    200: jsonContent(SupportResultSchema, "the action finished (see command.status and command.result)"),
    202: jsonContent(SupportResultSchema, "queued or running; poll the command"),
    ...errorResponses(404),
  },
});

export const uploadBundle = createRoute({
  method: "put",
  path: "/v1/agent/commands/{id}/bundle",
  tags,
  summary: "The agent uploads the support bundle of its support.bundle command (Authorization: Bearer <agent JWT>)",
  description:
    "The body is the gzip JSON bundle, redacted in the cluster, with `x-content-sha256` its hex digest; at most 64 MiB. The URL is the one the cloud put in the command's `uploadUrl`.",
  security: [{ agentToken: [] }],
  request: {
    params: IdParams,
    body: { content: { "application/gzip": { schema: z.any() } }, required: true },
  },
  responses: {
    201: jsonContent(
      z.object({ stored: z.boolean(), size: z.number().int(), sha256: z.string() }).openapi("StoredBundle"),
      "stored",
    ),
    ...errorResponses(404, 409),
  },
});

export const downloadBundle = createRoute({
  method: "get",
  path: "/v1/commands/{id}/bundle",
  tags,
  summary: "Download the support bundle a support.bundle command collected (gzip JSON); operator role, audited",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: { params: IdParams },
  responses: {
    200: { description: "the bundle", content: { "application/gzip": { schema: z.any() } } },
    ...errorResponses(404),
  },
});
