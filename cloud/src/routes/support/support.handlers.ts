// Thin handlers of the support routes: actions, and the support bundle's upload (agent) and download (operator).
import type { RouteHandler } from "@hono/zod-openapi";
import { verifyAgentRequest } from "../../lib/agent-auth.ts";
import { serviceContext } from "../../lib/auth.ts";
import type { AppEnv } from "../../lib/context.ts";
import { AppError } from "../../lib/errors.ts";
import { toCommandJson } from "../commands/commands.handlers.ts";
import type * as routes from "./support.routes.ts";
import {
  downloadSupportBundle,
  MAX_BUNDLE_BYTES,
  requestSupportAction,
  storeSupportBundle,
} from "./support.service.ts";

export const run: RouteHandler<typeof routes.run, AppEnv> = async (c) => {
  const { id, action } = c.req.valid("param");
  const body = c.req.valid("json") ?? { args: {}, waitMs: 15_000 };
  const r = await requestSupportAction({
    ctx: serviceContext(c),
    input: { id, action, args: body.args ?? {}, waitMs: body.waitMs ?? 15_000, publicUrl: c.get("deps").publicUrl },
  });
  return c.json({ done: r.done, command: toCommandJson(r.command) }, r.done ? 200 : 202);
};

export const uploadBundle: RouteHandler<typeof routes.uploadBundle, AppEnv> = async (c) => {
  const agent = await verifyAgentRequest(c);
  const data = Buffer.from(await c.req.arrayBuffer());
  if (data.byteLength > MAX_BUNDLE_BYTES) {
    throw new AppError("PAYLOAD_TOO_LARGE", `a support bundle may be at most ${MAX_BUNDLE_BYTES} bytes`);
  }
  const r = await storeSupportBundle({
    db: c.get("deps").db,
    agent,
    input: { id: c.req.valid("param").id, sha256: c.req.header("x-content-sha256"), data },
  });
  return c.json({ stored: true, ...r }, 201);
};

export const downloadBundle: RouteHandler<typeof routes.downloadBundle, AppEnv> = async (c) => {
  const b = await downloadSupportBundle({ ctx: serviceContext(c), input: c.req.valid("param") });
  const day = b.createdAt.toISOString().slice(0, 19).replace(/[:T]/g, "-");
  const res = c.body(new Uint8Array(b.data), 200, {
    "content-type": "application/gzip",
    "content-disposition": `attachment; filename="support-bundle-${b.applianceId}-${day}.json.gz"`,
    "x-content-sha256": b.sha256,
    "cache-control": "private, no-store",
  });
  // biome-ignore lint/suspicious/noExplicitAny: a binary response is outside the JSON typing of the route
  return res as any;
};
