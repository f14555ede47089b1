// The /v1/licenses router.
import { createRouter } from "../../lib/create-router.ts";
import * as handlers from "./licenses.handlers.ts";
import * as routes from "./licenses.routes.ts";

export const licensesRouter = createRouter()
  .openapi(routes.create, handlers.create)
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.update, handlers.update)
  .openapi(routes.suspend, handlers.suspend)
  .openapi(routes.reinstate, handlers.reinstate)
  .openapi(routes.revoke, handlers.revoke)
  .openapi(routes.token, handlers.token);
