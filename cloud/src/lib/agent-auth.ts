// HTTP requests from agents (chart downloads, support bundle uploads) carry a fresh agent JWT, the same credential
// as the tunnel: verified here against the appliance's registered key, with the tunnel's audience and replay check.
import type { Context } from "hono";
import { tunnelAudience } from "../../../shared/src/protocol/frames.ts";
import { AgentTokenVerifier, TunnelAuthError } from "../gateway/auth.ts";
import type { AppDeps, AppEnv } from "./context.ts";
import { AppError } from "./errors.ts";

const verifiers = new WeakMap<AppDeps, AgentTokenVerifier>();

/** The appliance (and its organisation) whose agent signed the request's `Authorization: Bearer <agent JWT>`. */
export async function verifyAgentRequest(c: Context<AppEnv>): Promise<{ applianceId: string; orgId: string }> {
  const deps = c.get("deps");
  const token = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
  if (!token) throw new AppError("UNAUTHORIZED", "missing `Authorization: Bearer <agent token>` header");
  let verifier = verifiers.get(deps);
  if (!verifier) {
    verifier = new AgentTokenVerifier(deps.db, tunnelAudience(deps.publicUrl));
    verifiers.set(deps, verifier);
  }
  try {
    const { applianceId, orgId } = await verifier.verify(token, deps.clock.now());
    return { applianceId, orgId };
  } catch (err) {
    if (err instanceof TunnelAuthError) {
      throw new AppError(err.status === 403 ? "FORBIDDEN" : "UNAUTHORIZED", err.message, { reason: err.reason });
    }
    throw err;
  }
}
