// Thin handlers of /v1/customers: validated input in, service verb, JSON out.
import type { RouteHandler } from "@hono/zod-openapi";
import { serviceContext } from "../../lib/auth.ts";
import type { AppEnv } from "../../lib/context.ts";
import * as svc from "../../services/customers.ts";
import type * as routes from "./customers.routes.ts";

export function toCustomerJson(row: svc.Customer) {
  return {
    id: row.id,
    name: row.name,
    contactEmail: row.contactEmail,
    tags: row.tags,
    maintenanceWindow: row.maintenanceWindow ?? null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export const create: RouteHandler<typeof routes.create, AppEnv> = async (c) => {
  const row = await svc.createCustomer({ ctx: serviceContext(c), input: c.req.valid("json") });
  return c.json(toCustomerJson(row), 201);
};

export const list: RouteHandler<typeof routes.list, AppEnv> = async (c) => {
  const page = await svc.listCustomers({ ctx: serviceContext(c), input: c.req.valid("query") });
  return c.json({ items: page.items.map(toCustomerJson), nextCursor: page.nextCursor }, 200);
};

export const get: RouteHandler<typeof routes.get, AppEnv> = async (c) => {
  const row = await svc.getCustomer({ ctx: serviceContext(c), input: c.req.valid("param") });
  return c.json(toCustomerJson(row), 200);
};

export const update: RouteHandler<typeof routes.update, AppEnv> = async (c) => {
  const { id } = c.req.valid("param");
  const row = await svc.updateCustomer({ ctx: serviceContext(c), input: { id, patch: c.req.valid("json") } });
  return c.json(toCustomerJson(row), 200);
};

export const remove: RouteHandler<typeof routes.remove, AppEnv> = async (c) => {
  await svc.deleteCustomer({ ctx: serviceContext(c), input: c.req.valid("param") });
  return c.body(null, 204);
};
