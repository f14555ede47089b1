// The /v1/appliances router.
import { createRouter } from "../../lib/create-router.ts";
import * as handlers from "./appliances.handlers.ts";
import * as routes from "./appliances.routes.ts";

export const appliancesRouter = createRouter()
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.disable, handlers.disable)
  .openapi(routes.enable, handlers.enable)
  .openapi(routes.putDesired, handlers.putDesired)
  .openapi(routes.events, handlers.events)
  .openapi(routes.metrics, handlers.metrics);
