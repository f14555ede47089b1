// The /v1/signing-keys and /.well-known/jwks.json router.
import { createRouter } from "../../lib/create-router.ts";
import * as handlers from "./signing-keys.handlers.ts";
import * as routes from "./signing-keys.routes.ts";

export const signingKeysRouter = createRouter()
  .openapi(routes.list, handlers.list)
  .openapi(routes.rotate, handlers.rotate)
  .openapi(routes.retire, handlers.retire)
  .openapi(routes.jwks, handlers.jwks);
