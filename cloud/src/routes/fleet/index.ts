// The fleet API router.
import { createRouter } from "../../lib/create-router.ts";
import * as handlers from "./fleet.handlers.ts";
import * as routes from "./fleet.routes.ts";

export const fleetRouter = createRouter()
  .openapi(routes.list, handlers.list)
  .openapi(routes.summary, handlers.summary)
  .openapi(routes.timeline, handlers.timeline)
  .openapi(routes.pin, handlers.pin);
