// The /v1/releases, /v1/channels and agent chart router.
import { createRouter } from "../../lib/create-router.ts";
import * as handlers from "./releases.handlers.ts";
import * as routes from "./releases.routes.ts";

export const releasesRouter = createRouter()
  .openapi(routes.publish, handlers.publish)
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.chart, handlers.chart)
  .openapi(routes.yank, handlers.yank)
  .openapi(routes.agentChart, handlers.agentChart)
  .openapi(routes.listChannels, handlers.listChannels)
  .openapi(routes.createChannel, handlers.createChannel);
