// The /v1/rollouts router (preview before {id} so it is not taken for an id).
import { createRouter } from "../../lib/create-router.ts";
import * as handlers from "./rollouts.handlers.ts";
import * as routes from "./rollouts.routes.ts";

export const rolloutsRouter = createRouter()
  .openapi(routes.preview, handlers.preview)
  .openapi(routes.create, handlers.create)
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.act, handlers.act);
