// The /v1/audit router.
import { createRouter } from "../../lib/create-router.ts";
import * as handlers from "./audit.handlers.ts";
import * as routes from "./audit.routes.ts";

export const auditRouter = createRouter().openapi(routes.list, handlers.list);
