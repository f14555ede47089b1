// OpenAPI definitions of /v1/customers: viewers read, operators create, change and delete.
import { createRoute, z } from "@hono/zod-openapi";
import { bearerSecurity, requireRole } from "../../lib/auth.ts";
import { errorResponses, IdParams, jsonBody, jsonContent } from "../../lib/openapi.ts";
import { pageSchema, paginationQuery } from "../../lib/pagination.ts";

const tags = ["Customers"];

export const MaintenanceWindowSchema = z
  .object({
    cron: z.string().min(9).max(120).openapi({ example: "0 2 * * SAT" }),
    timeZone: z.string().min(1).max(64).openapi({ example: "Europe/Berlin" }),
    durationMinutes: z.number().int().min(15).max(1440),
  })
  .openapi("MaintenanceWindow");

export const CustomerSchema = z
  .object({
    id: z.string().openapi({ example: "cus_01JD6Z8Q3W5Y2M4N6P8R0T2V4X" }),
    name: z.string(),
    contactEmail: z.string().nullable(),
    tags: z.array(z.string()),
    maintenanceWindow: MaintenanceWindowSchema.nullable(),
    createdAt: z.string(),
    updatedAt: z.string(),
  })
  .openapi("Customer");

export const CreateCustomerSchema = z
  .object({
    name: z.string().trim().min(1).max(200),
    contactEmail: z.email().max(320).nullable().optional(),
    tags: z.array(z.string().min(1).max(64)).max(32).optional(),
    maintenanceWindow: MaintenanceWindowSchema.nullable().optional(),
  })
  .strict()
  .openapi("CreateCustomer");

export const UpdateCustomerSchema = CreateCustomerSchema.partial()
  .strict()
  .refine((v) => Object.keys(v).length > 0, { message: "give at least one field to change" })
  .openapi("UpdateCustomer");

export const create = createRoute({
  method: "post",
  path: "/v1/customers",
  tags,
  summary: "Create a customer",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: { body: jsonBody(CreateCustomerSchema) },
  responses: { 201: jsonContent(CustomerSchema, "the customer"), ...errorResponses() },
});

export const list = createRoute({
  method: "get",
  path: "/v1/customers",
  tags,
  summary: "List customers, newest first",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: { query: paginationQuery },
  responses: {
    200: jsonContent(pageSchema(CustomerSchema, "CustomerPage"), "a page of customers"),
    ...errorResponses(),
  },
});

export const get = createRoute({
  method: "get",
  path: "/v1/customers/{id}",
  tags,
  summary: "Get a customer",
  security: bearerSecurity,
  middleware: [requireRole("viewer")] as const,
  request: { params: IdParams },
  responses: { 200: jsonContent(CustomerSchema, "the customer"), ...errorResponses(404) },
});

export const update = createRoute({
  method: "patch",
  path: "/v1/customers/{id}",
  tags,
  summary: "Change a customer",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: { params: IdParams, body: jsonBody(UpdateCustomerSchema) },
  responses: { 200: jsonContent(CustomerSchema, "the changed customer"), ...errorResponses(404) },
});

export const remove = createRoute({
  method: "delete",
  path: "/v1/customers/{id}",
  tags,
  summary: "Delete a customer that has no licenses",
  security: bearerSecurity,
  middleware: [requireRole("operator")] as const,
  request: { params: IdParams },
  responses: { 204: { description: "deleted" }, ...errorResponses(404, 409) },
});
