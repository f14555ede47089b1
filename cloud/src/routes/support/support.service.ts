// The support verb: an operator's allow-listed support action becomes a command in the appliance's outbox (with
// its audit row in the same transaction); the caller may wait briefly for the agent's result.
import { createHash } from "node:crypto";
import { setTimeout as sleep } from "node:timers/promises";
import { and, eq } from "drizzle-orm";
import {
  type SupportCommand,
  supportArgs,
  supportCommandOf,
  supportMinRole,
} from "../../../../shared/src/protocol/support.ts";
import type { Db } from "../../db/client.ts";
import { commands, isTerminalStatus, supportBundles } from "../../db/schema/index.ts";
import { writeAudit } from "../../lib/audit.ts";
import type { ServiceContext } from "../../lib/context.ts";
import { AppError } from "../../lib/errors.ts";
import { assertRole } from "../../lib/scope.ts";
import { type CommandRow, enqueueCommand, getCommand } from "../../tunnel/commands.ts";

export async function requestSupportAction({
  ctx,
  input,
}: {
  ctx: ServiceContext;
  input: { id: string; action: string; args: Record<string, unknown>; waitMs: number; publicUrl: string };
}): Promise<{ command: CommandRow; done: boolean }> {
  assertRole(ctx.actor, "viewer");
  const type: SupportCommand | undefined = supportCommandOf(input.action);
  if (!type) throw new AppError("NOT_FOUND", `no support action ${JSON.stringify(input.action)}`);
  assertRole(ctx.actor, supportMinRole[type]);
  if (type === "support.bundle" && "uploadUrl" in input.args) {
    // the bundle goes to this cloud only: an operator-chosen URL would send a customer's data anywhere
    throw new AppError("VALIDATION_FAILED", "args.uploadUrl: the cloud sets where the bundle goes; leave it out");
  }
  const parsed = supportArgs[type].safeParse(input.args);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new AppError("VALIDATION_FAILED", `${issue?.path.join(".") || "args"}: ${issue?.message}`);
  }
  // Support actions are short-lived: an operator wants the answer now, not when the appliance returns next week.
  const command = await ctx.deps.db.transaction(async (tx) => {
    let row = await enqueueCommand(tx, {
      orgId: ctx.actor.orgId,
      applianceId: input.id,
      type,
      args: parsed.data as Record<string, unknown>,
      ttlMs: 10 * 60_000,
      createdBy: ctx.actor.name,
      now: ctx.deps.clock.now(),
    });
    if (type === "support.bundle") {
      // the agent PUTs the bundle here with its own JWT; the wake-up NOTIFY fires at commit, after this update
      const args = { ...row.args, uploadUrl: `${input.publicUrl}/v1/agent/commands/${row.id}/bundle` };
      const [updated] = await tx.update(commands).set({ args }).where(eq(commands.id, row.id)).returning();
      if (!updated) throw new Error("the queued bundle command disappeared");
      row = updated;
    }
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
  while (!isTerminalStatus(row.status) && Date.now() < deadline) {
    await sleep(Math.min(100, Math.max(0, deadline - Date.now())));
    row = (await getCommand(ctx.deps.db, { orgId: ctx.actor.orgId, id: command.id })) ?? row;
  }
  return { command: row, done: isTerminalStatus(row.status) };
}

/** Largest bundle the cloud stores (gzip); a larger one is refused with 413 and the agent reports the failure. */
export const MAX_BUNDLE_BYTES = 64 * 1024 * 1024;

/** The agent's upload of a bundle for its own support.bundle command, checked against its digest; stored once. */
export async function storeSupportBundle({
  db,
  agent,
  input,
}: {
  db: Db;
  agent: { applianceId: string; orgId: string };
  input: { id: string; sha256: string | undefined; data: Buffer };
}): Promise<{ size: number; sha256: string }> {
  const sha256 = createHash("sha256").update(input.data).digest("hex");
  if (!input.sha256 || input.sha256.toLowerCase() !== sha256) {
    throw new AppError(
      "VALIDATION_FAILED",
      `x-content-sha256: the body's sha256 is ${sha256}; send that header with the bundle's digest`,
    );
  }
  const [cmd] = await db
    .select()
    .from(commands)
    .where(and(eq(commands.id, input.id), eq(commands.applianceId, agent.applianceId)));
  if (cmd?.type !== "support.bundle") throw new AppError("NOT_FOUND", "no support bundle is expected here");
  if (!cmd || isTerminalStatus(cmd.status)) throw new AppError("CONFLICT", `command ${input.id} has already finished`);
  await db
    .insert(supportBundles)
    .values({
      commandId: cmd.id,
      orgId: agent.orgId,
      applianceId: agent.applianceId,
      sha256,
      size: input.data.byteLength,
      data: input.data,
    })
    .onConflictDoUpdate({
      target: supportBundles.commandId,
      set: { sha256, size: input.data.byteLength, data: input.data, createdAt: new Date() },
    });
  return { size: input.data.byteLength, sha256 };
}

/** An operator's download of a bundle (operator role, audited: it holds the customer's logs and state). */
export async function downloadSupportBundle({ ctx, input }: { ctx: ServiceContext; input: { id: string } }) {
  assertRole(ctx.actor, "operator");
  const cmd = await getCommand(ctx.deps.db, { orgId: ctx.actor.orgId, id: input.id });
  if (!cmd) throw new AppError("NOT_FOUND", "command not found");
  const [bundle] = await ctx.deps.db.select().from(supportBundles).where(eq(supportBundles.commandId, cmd.id));
  if (!bundle) {
    throw new AppError(
      "NOT_FOUND",
      cmd.type === "support.bundle"
        ? `the bundle of ${cmd.id} has not arrived (command ${cmd.status})`
        : `command ${cmd.id} (${cmd.type}) has no support bundle`,
    );
  }
  await writeAudit(ctx.deps.db, {
    actor: ctx.actor,
    action: "support.bundle.download",
    targetType: "appliance",
    targetId: cmd.applianceId,
    summary: { commandId: cmd.id, size: bundle.size, sha256: bundle.sha256 },
    requestId: ctx.requestId,
  });
  return { applianceId: cmd.applianceId, createdAt: bundle.createdAt, sha256: bundle.sha256, data: bundle.data };
}
