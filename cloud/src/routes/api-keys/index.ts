// The /v1/api-keys and /v1/me router.
import { createRouter } from "../../lib/create-router.ts";
import * as handlers from "./api-keys.handlers.ts";
import * as routes from "./api-keys.routes.ts";

export const apiKeysRouter = createRouter()
  .openapi(routes.create, handlers.create)
  .openapi(routes.list, handlers.list)
  .openapi(routes.revoke, handlers.revoke)
  .openapi(routes.me, handlers.me);
