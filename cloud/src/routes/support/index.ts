// The support router (/v1/appliances/{id}/support/{action}).
import { createRouter } from "../../lib/create-router.ts";
import * as handlers from "./support.handlers.ts";
import * as routes from "./support.routes.ts";

export const supportRouter = createRouter().openapi(routes.run, handlers.run);
