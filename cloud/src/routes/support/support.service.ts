// The support verb: an operator's allow-listed support action becomes a command in the appliance's outbox (with
// its audit row in the same transaction); the caller may wait briefly for the agent's result.
import { setTimeout as sleep } from "node:timers/promises";
import {
  type SupportCommand,
  supportArgs,
  supportCommandOf,
  supportMinRole,
} from "../../../../shared/src/protocol/support.ts";
import { writeAudit } from "../../lib/audit.ts";
import type { ServiceContext } from "../../lib/context.ts";
import { AppError } from "../../lib/errors.ts";
import { assertRole } from "../../lib/scope.ts";
import { type CommandRow, enqueueCommand, getCommand } from "../../tunnel/commands.ts";

const TERMINAL = new Set(["succeeded", "failed", "expired"]);

export async function requestSupportAction({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; action: string; args: Record<string, unknown>; waitMs: number };
}): Promise<{ command: CommandRow; done: boolean }> {
  assertRole(ctx.actor, "viewer");
  const type: SupportCommand | undefined = supportCommandOf(input.action);
  if (!type) throw new AppError("NOT_FOUND", `no support action ${JSON.stringify(input.action)}`);
  assertRole(ctx.actor, supportMinRole[type]);
  const parsed = supportArgs[type].safeParse(input.args);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError("VALIDATION_FAILED", `${issue?.path.join(".") || "args"}: ${issue?.message}`);
  }
  // Support actions are short-lived: an operator wants the answer now, not when the appliance returns next week.
  const command = await ctx.deps.db.transaction(async (tx) => {
    const row = await enqueueCommand(tx, {
      orgId: ctx.actor.orgId,
      applianceId: input.id,
      type,
      args: parsed.data as Record<string, unknown>,
      ttlMs: 10 * 60_000,
      createdBy: ctx.actor.name,
      now: ctx.deps.clock.now(),
    });
    await writeAudit(tx, {
      actor: ctx.actor,
      action: `support.${input.action}`,
      targetType: "appliance",
      targetId: input.id,
      summary: { commandId: row.id, seq: row.seq, args: parsed.data },
      requestId: ctx.requestId,
    });
    return row;
  });
  const deadline = Date.now() + input.waitMs;
  let row = command;
  while (!TERMINAL.has(row.status) && Date.now() < deadline) {
    await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
    row = (await getCommand(ctx.deps.db, { orgId: ctx.actor.orgId, id: command.id })) ?? row;
  }
  return { command: row, done: TERMINAL.has(row.status) };
}
