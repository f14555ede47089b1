// Thin handlers of the command routes.
import type { RouteHandler } from "@hono/zod-openapi";
import { streamSSE } from "hono/streaming";
import { isTerminalStatus } from "../../db/schema/index.ts";
import { serviceContext } from "../../lib/auth.ts";
import type { AppEnv } from "../../lib/context.ts";
import * as svc from "../../tunnel/appliances.ts";
import { type CommandRow, getCommand } from "../../tunnel/commands.ts";
import { openCommandStream, readChunks, stopCommandStream, streamWaker } from "../../tunnel/streams.ts";
import type * as routes from "./commands.routes.ts";

export function toCommandJson(r: CommandRow) {
  return {
    id: r.id,
    applianceId: r.applianceId,
    seq: r.seq,
    type: r.type,
    args: r.args,
    status: r.status,
    createdBy: r.createdBy,
    createdAt: r.createdAt.toISOString(),
    expiresAt: r.expiresAt.toISOString(),
    deliveredAt: r.deliveredAt?.toISOString() ?? null,
    startedAt: r.startedAt?.toISOString() ?? null,
    finishedAt: r.finishedAt?.toISOString() ?? null,
    result: r.result ?? null,
    error: r.error,
  };
}

export const create: RouteHandler<typeof routes.create, AppEnv> = async (c) => {
  const row = await svc.createCommand({
    ctx: serviceContext(c),
    input: { ...c.req.valid("param"), ...c.req.valid("json") },
  });
  return c.json(toCommandJson(row), 201);
};

export const list: RouteHandler<typeof routes.list, AppEnv> = async (c) => {
  const page = await svc.listCommands({
    ctx: serviceContext(c),
    input: { ...c.req.valid("param"), ...c.req.valid("query") },
  });
  return c.json({ items: page.items.map(toCommandJson), nextCursor: page.nextCursor }, 200);
};

export const get: RouteHandler<typeof routes.get, AppEnv> = async (c) => {
  const row = await svc.readCommand({ ctx: serviceContext(c), input: c.req.valid("param") });
  return c.json(toCommandJson(row), 200);
};

/** SSE keep-alive comment interval (proxies close idle responses) and the poll covering a missed NOTIFY. */
const KEEPALIVE_MS = 15_000;
const POLL_MS = 1_000;

export const stream: RouteHandler<typeof routes.stream, AppEnv> = async (c) => {
  const ctx = serviceContext(c);
  const { id } = c.req.valid("param");
  const command = await openCommandStream({ ctx, input: { id } });
  const lastEventId = Number(c.req.header("last-event-id"));
  let after = c.req.valid("query").after ?? (Number.isInteger(lastEventId) && lastEventId >= 0 ? lastEventId : 0);
  const { db, database } = c.get("deps");
  const waker = streamWaker(database);
  const response = streamSSE(c, async (sse) => {
    const gone = new AbortController();
    sse.onAbort(() => gone.abort());
    let lastWrite = Date.now();
    while (!gone.signal.aborted) {
      const chunks = await readChunks(db, command.id, after);
      for (const ch of chunks) {
        await sse.writeSSE({ event: "chunk", id: String(ch.seq), data: ch.data.replace(/\n$/, "") });
        after = ch.seq;
      }
      if (chunks.length > 0) {
        lastWrite = Date.now();
        continue;
      }
      const row = await getCommand(db, { orgId: ctx.actor.orgId, id: command.id });
      if (!row || isTerminalStatus(row.status)) {
        // chunks stored before the result are all read by now (the agent sends the result after its last chunk)
        const rest = await readChunks(db, command.id, after);
        if (rest.length > 0) continue;
        await sse.writeSSE({ event: "end", data: JSON.stringify(row ? toCommandJson(row) : null) });
        return;
      }
      if (Date.now() - lastWrite >= KEEPALIVE_MS) {
        await sse.write(": keep-alive\n\n");
        lastWrite = Date.now();
      }
      await waker.wait(command.id, POLL_MS, gone.signal);
    }
  });
  // biome-ignore lint/suspicious/noExplicitAny: an event stream is outside the JSON typing of the route
  return response as any;
};

export const stopStream: RouteHandler<typeof routes.stopStream, AppEnv> = async (c) => {
  const r = await stopCommandStream({ ctx: serviceContext(c), input: c.req.valid("param") });
  return c.json(r, 202);
};
