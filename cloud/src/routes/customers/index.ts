// The /v1/customers router.
import { createRouter } from "../../lib/create-router.ts";
import * as handlers from "./customers.handlers.ts";
import * as routes from "./customers.routes.ts";

export const customersRouter = createRouter()
  .openapi(routes.create, handlers.create)
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.update, handlers.update)
  .openapi(routes.remove, handlers.remove);
