// The /v1/enroll router.
import { createRouter } from "../../lib/create-router.ts";
import * as handlers from "./enroll.handlers.ts";
import * as routes from "./enroll.routes.ts";

export const enrollRouter = createRouter().openapi(routes.enroll, handlers.enroll);
