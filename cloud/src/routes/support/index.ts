// The support router (/v1/appliances/{id}/support/{action}, the support bundle's upload and download).
import { createRouter } from "../../lib/create-router.ts";
import * as handlers from "./support.handlers.ts";
import * as routes from "./support.routes.ts";

export const supportRouter = createRouter()
  .openapi(routes.run, handlers.run)
  .openapi(routes.uploadBundle, handlers.uploadBundle)
  .openapi(routes.downloadBundle, handlers.downloadBundle);
