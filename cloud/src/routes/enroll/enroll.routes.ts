// OpenAPI definition of POST /v1/enroll: public (the license token in the body is the credential).
import { createRoute, z } from "@hono/zod-openapi";
import { enrollRequestSchema, enrollResponseSchema } from "../../../../shared/src/protocol/enroll.ts";
import { ErrorSchema, jsonBody, jsonContent } from "../../lib/openapi.ts";

export const EnrollRequestSchema = z.object(enrollRequestSchema.shape).strict().openapi("EnrollRequest");
export const EnrollResponseSchema = z.object(enrollResponseSchema.shape).openapi("EnrollResponse");

export const enroll = createRoute({
  method: "post",
  path: "/v1/enroll",
  tags: ["Tunnel"],
  summary: "Enroll an agent: bind its Ed25519 public key to a new appliance under the license (idempotent per key)",
  security: [],
  request: { body: jsonBody(EnrollRequestSchema) },
  responses: {
    200: jsonContent(EnrollResponseSchema, "the key was already enrolled: the same appliance"),
    201: jsonContent(EnrollResponseSchema, "a new appliance"),
    400: jsonContent(ErrorSchema, "validation failed"),
    401: jsonContent(ErrorSchema, "the license token does not verify"),
    403: jsonContent(ErrorSchema, "the license is not active, has expired, or allows no more hubs"),
    409: jsonContent(ErrorSchema, "the key is enrolled under another license"),
  },
});
