// The command routers (/v1/appliances/{id}/commands, /v1/commands/{id}).
import { createRouter } from "../../lib/create-router.ts";
import * as handlers from "./commands.handlers.ts";
import * as routes from "./commands.routes.ts";

export const commandsRouter = createRouter()
  .openapi(routes.create, handlers.create)
  .openapi(routes.list, handlers.list)
  .openapi(routes.get, handlers.get)
  .openapi(routes.stream, handlers.stream)
  .openapi(routes.stopStream, handlers.stopStream);
