// OpenAPI definitions of /v1/releases and /v1/channels: viewers read, operators publish, yank and add channels.
// The agents' chart download (/v1/agent/releases/{id}/chart) authenticates with the agent's own JWT instead.
import { createRoute, z } from "@hono/zod-openapi";
import { bearerSecurity, requireRole } from "../../lib/auth.ts";
import { errorResponses, IdParams, jsonBody, jsonContent } from "../../lib/openapi.ts";
import { pageSchema, paginationQuery } from "../../lib/pagination.ts";

const tags = ["Releases"];

export const ReleaseSchema = z
  .object({
    id: z.string().openapi({ example: "rel_01JD6Z8Q3W5Y2M4N6P8R0T2V4X" }),
    version: z.string().openapi({ example: "1.4.0" }),
    channel: z.string(),
    seq: z.number().int(),
    chartDigest: z.string().openapi({ description: "sha256 of the chart archive, hex" }),
    chartSize: z.number().int().nullable(),
    chartUrl: z
      .string()
      .nullable()
      .openapi({ description: "where the archive lives when it was referenced, not uploaded" }),
    notes: z.string(),
    required: z.boolean().openapi({ description: "a required release cannot be skipped by a rollout" }),
    state: z.enum(["published", "yanked"]),
    yankedAt: z.string().nullable(),
    yankReason: z.string().nullable(),
    publishedBy: z.string(),
    publishedAt: z.string(),
  })
  .openapi("Release");

export const PublishReleaseSchema = z
  .object({
    version: z.string().min(5).max(64).openapi({ example: "1.4.0" }),
    channel: z.string().min(1).max(40).default("stable"),
    chartBase64: z.string().max(6_000_000).optional().openapi({ description: "the chart archive (.tgz), base64" }),
    chartUrl: z.url().max(2048).optional().openapi({ description: "or a reference to the archive (with digest)" }),
    digest: z
      .string()
      .regex(/^[0-9a-fA-F]{64}$/, "sha256, 64 hex characters")
      .optional(),
    notes: z.string().max(20_000).optional(),
    required: z.boolean().optional(),
  })
  .strict()
  .openapi("PublishRelease");

export const ChannelSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    createdAt: z.string(),
    latestVersion: z.string().nullable(),
    releaseCount: z.number().int(),
  })
  .openapi("Channel");

export const publish = createRoute({
  method: "post",
  path: "/v1/releases",
  tags,
  summary: "Publish a release (immutable once published)",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: { body: jsonBody(PublishReleaseSchema) },
  responses: { 201: jsonContent(ReleaseSchema, "the release"), ...errorResponses(409) },
});

export const list = createRoute({
  method: "get",
  path: "/v1/releases",
  tags,
  summary: "List releases, newest first",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: { query: paginationQuery.extend({ channel: z.string().max(40).optional() }) },
  responses: { 200: jsonContent(pageSchema(ReleaseSchema, "ReleasePage"), "a page of releases"), ...errorResponses() },
});

export const get = createRoute({
  method: "get",
  path: "/v1/releases/{id}",
  tags,
  summary: "Get a release",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: { params: IdParams },
  responses: { 200: jsonContent(ReleaseSchema, "the release"), ...errorResponses(404) },
});

export const chart = createRoute({
  method: "get",
  path: "/v1/releases/{id}/chart",
  tags,
  summary: "Download a release's chart archive (or a redirect to where it lives)",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: { params: IdParams },
  responses: {
    200: { description: "the archive", content: { "application/gzip": { schema: z.any() } } },
    302: { description: "the archive lives at the Location" },
    ...errorResponses(404),
  },
});

export const yank = createRoute({
  method: "post",
  path: "/v1/releases/{id}/yank",
  tags,
  summary: "Yank a release: no new rollout may use it",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: {
    params: IdParams,
    body: { ...jsonBody(z.object({ reason: z.string().max(2000).optional() }).strict()), required: false },
  },
  responses: { 200: jsonContent(ReleaseSchema, "the yanked release"), ...errorResponses(404, 409) },
});

export const agentChart = createRoute({
  method: "get",
  path: "/v1/agent/releases/{id}/chart",
  tags,
  summary: "The chart archive for an agent (Authorization: Bearer <agent JWT>)",
  security: [{ agentToken: [] }],
  request: { params: IdParams },
  responses: {
    200: { description: "the archive", content: { "application/gzip": { schema: z.any() } } },
    302: { description: "the archive lives at the Location" },
    ...errorResponses(404),
  },
});

export const listChannels = createRoute({
  method: "get",
  path: "/v1/channels",
  tags: ["Channels"],
  summary: "List channels (stable and beta always exist)",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  responses: { 200: jsonContent(z.object({ items: z.array(ChannelSchema) }), "the channels"), ...errorResponses() },
});

export const createChannel = createRoute({
  method: "post",
  path: "/v1/channels",
  tags: ["Channels"],
  summary: "Add a custom channel",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: {
    body: jsonBody(
      z
        .object({
          name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "lowercase letters, digits and dashes, at most 40"),
        })
        .strict(),
    ),
  },
  responses: { 201: jsonContent(ChannelSchema, "the channel"), ...errorResponses(409) },
});
