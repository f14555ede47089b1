// OpenAPI building blocks shared by route files: the error envelope, JSON bodies, standard error responses, id params.
import { z } from "@hono/zod-openapi";
import { errorStatus } from "./errors.ts";

export const ErrorSchema = z
  .object({
    error: z.object({
      code: z.enum(Object.keys(errorStatus) as [keyof typeof errorStatus, ...(keyof typeof errorStatus)[]]),
      message: z.string(),
      requestId: z.string(),
      details: z.unknown().optional(),
    }),
  })
  .openapi("Error");

export function jsonContent<T extends z.ZodType>(schema: T, description: string) {
  return { content: { "application/json": { schema } }, description };
}

export function jsonBody<T extends z.ZodType>(schema: T) {
  return { content: { "application/json": { schema } }, required: true };
}

const errorDescriptions = {
  400: "validation failed (details.issues names each field)",
  401: "missing, unknown or revoked API key",
  403: "the API key's role is too low",
  404: "not found (or belongs to another organisation)",
  409: "conflicts with the current state",
  413: "request body too large",
  429: "too many failed authentication attempts (see Retry-After)",
} as const;

type ErrorStatusCode = keyof typeof errorDescriptions;

/** Error responses of an authenticated route: 400, 401, 403, 413, 429 always, plus the extra codes given. */
export function errorResponses<const C extends ErrorStatusCode>(...extra: C[]) {
  const codes = [400, 401, 403, 413, 429, ...extra] as ErrorStatusCode[];
  const out: Record<number, ReturnType<typeof jsonContent<typeof ErrorSchema>>> = {};
  for (const code of codes) out[code] = jsonContent(ErrorSchema, errorDescriptions[code]);
  return out as Record<400 | 401 | 403 | 413 | 429 | C, ReturnType<typeof jsonContent<typeof ErrorSchema>>>;
}

/** Path parameter `:id` of a resource (any string; a malformed id is simply not found). */
export const IdParams = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "cus_01JD6Z8Q3W5Y2M4N6P8R0T2V4X" }),
});

export const isoDate = (description?: string) =>
  z.iso.datetime({ offset: true }).openapi(description ? { description } : {});
