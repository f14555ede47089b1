// OpenAPI definitions of /v1/rollouts: viewers read and preview, operators create and act (pause, resume,
// abort, retry, rollback).
import { createRoute, z } from "@hono/zod-openapi";
import { rolloutStates } from "../../db/schema/rollouts.ts";
import { bearerSecurity, requireRole } from "../../lib/auth.ts";
import { errorResponses, IdParams, jsonBody, jsonContent } from "../../lib/openapi.ts";
import { pageSchema, paginationQuery } from "../../lib/pagination.ts";
import { strategySchema } from "../../rollouts/plan.ts";

const tags = ["Rollouts"];
const idList = (prefix: string) =>
  z.array(z.string().regex(new RegExp(`^${prefix}_[0-9A-Z]{26}$`), `a ${prefix}_ id`)).max(10_000);

export const TargetSchema = z
  .object({
    channel: z.string().max(40).optional(),
    tags: z.array(z.string().min(1).max(64)).max(32).optional(),
    customerIds: idList("cus").optional(),
    applianceIds: idList("apl").optional(),
  })
  .strict()
  .openapi("RolloutTarget", { description: "every given criterion must hold; none = the release's channel" });

export const PreviewSchema = z
  .object({
    releaseId: z.string().min(1).max(64),
    target: TargetSchema.default({}),
    strategy: strategySchema.prefault({}).openapi("RolloutStrategy"),
  })
  .strict()
  .openapi("RolloutPreviewRequest");

export const CreateSchema = PreviewSchema.extend({ name: z.string().trim().min(1).max(200) })
  .strict()
  .openapi("CreateRollout");

const Excluded = z.object({ applianceId: z.string(), applianceName: z.string(), reason: z.string() });

export const PreviewResponse = z
  .object({
    total: z.number().int(),
    waves: z.array(
      z.object({
        index: z.number().int(),
        size: z.number().int(),
        canary: z.boolean(),
        failureBudget: z.number().int(),
        applianceIds: z.array(z.string()),
      }),
    ),
    excluded: z.array(Excluded),
  })
  .openapi("RolloutPreview");

const Counts = z.object({
  pending: z.number().int(),
  applying: z.number().int(),
  healthy: z.number().int(),
  failed: z.number().int(),
  timedOut: z.number().int(),
  deferred: z.number().int(),
  rolledBack: z.number().int(),
  rollingBack: z.number().int(),
  superseded: z.number().int(),
  skipped: z.number().int(),
});

export const RolloutSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    state: z.enum(rolloutStates),
    haltReason: z.string().nullable(),
    supersededBy: z.string().nullable(),
    target: TargetSchema,
    strategy: z.record(z.string(), z.unknown()),
    createdBy: z.string(),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
    release: z
      .object({ id: z.string(), version: z.string(), channel: z.string(), state: z.string(), chartDigest: z.string() })
      .nullable(),
    counts: Counts,
    waves: z.array(
      z.object({
        index: z.number().int(),
        canary: z.boolean(),
        state: z.string(),
        size: z.number().int(),
        failureBudget: z.number().int(),
        openedAt: z.string().nullable(),
        completedAt: z.string().nullable(),
        counts: Counts,
        targets: z.array(
          z.object({
            applianceId: z.string(),
            applianceName: z.string(),
            state: z.string(),
            reason: z.string().nullable(),
            evidence: z.record(z.string(), z.unknown()).nullable(),
            attempt: z.number().int(),
            startedAt: z.string().nullable(),
            healthyAt: z.string().nullable(),
            updatedAt: z.string(),
          }),
        ),
      }),
    ),
    transitions: z.array(
      z.object({
        at: z.string(),
        subject: z.string(),
        waveIndex: z.number().int().nullable(),
        applianceId: z.string().nullable(),
        from: z.string().nullable(),
        to: z.string(),
        reason: z.string(),
        evidence: z.record(z.string(), z.unknown()).nullable(),
        actor: z.string(),
      }),
    ),
  })
  .openapi("Rollout");

export const RolloutSummarySchema = z
  .object({
    id: z.string(),
    name: z.string(),
    state: z.enum(rolloutStates),
    haltReason: z.string().nullable(),
    releaseId: z.string(),
    version: z.string(),
    channel: z.string(),
    total: z.number().int(),
    healthy: z.number().int(),
    failed: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
    finishedAt: z.string().nullable(),
  })
  .openapi("RolloutSummary");

export const preview = createRoute({
  method: "post",
  path: "/v1/rollouts/preview",
  tags,
  summary: "Plan a rollout without starting it: the waves and who is left out, and why",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: { body: jsonBody(PreviewSchema) },
  responses: { 200: jsonContent(PreviewResponse, "the plan"), ...errorResponses(409) },
});

export const create = createRoute({
  method: "post",
  path: "/v1/rollouts",
  tags,
  summary: "Start a rollout (supersedes older rollouts of the same appliances)",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: { body: jsonBody(CreateSchema) },
  responses: { 201: jsonContent(RolloutSchema, "the rollout"), ...errorResponses(409) },
});

export const list = createRoute({
  method: "get",
  path: "/v1/rollouts",
  tags,
  summary: "List rollouts, newest first",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: { query: paginationQuery.extend({ state: z.enum(rolloutStates).optional() }) },
  responses: {
    200: jsonContent(pageSchema(RolloutSummarySchema, "RolloutPage"), "a page of rollouts"),
    ...errorResponses(),
  },
});

export const get = createRoute({
  method: "get",
  path: "/v1/rollouts/{id}",
  tags,
  summary: "A rollout with its waves, targets and transitions",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: { params: IdParams },
  responses: { 200: jsonContent(RolloutSchema, "the rollout"), ...errorResponses(404) },
});

export const act = createRoute({
  method: "post",
  path: "/v1/rollouts/{id}/{action}",
  tags,
  summary: "Pause, resume, abort, retry failed targets, or roll back to each target's previous release",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: {
    params: IdParams.extend({
      action: z
        .enum(["pause", "resume", "abort", "retry", "rollback"])
        .openapi({ param: { name: "action", in: "path" } }),
    }),
    body: { ...jsonBody(z.object({ reason: z.string().max(2000).optional() }).strict()), required: false },
  },
  responses: { 200: jsonContent(RolloutSchema, "the rollout after the action"), ...errorResponses(404, 409) },
});
