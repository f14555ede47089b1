// Role checks for services (framework-free): the first line of every verb is `assertRole(ctx.actor, "operator")`.
import type { Actor, Role } from "./context.ts";
import { AppError } from "./errors.ts";

const rank: Record<Role, number> = { viewer: 0, operator: 1, admin: 2 };

export function roleAtLeast(have: Role, need: Role): boolean {
  return rank[have] >= rank[need];
}

export function assertRole(actor: Actor, need: Role): void {
  if (!roleAtLeast(actor.role, need)) {
    throw new AppError("FORBIDDEN", `this action needs the ${need} role; the API key has the ${actor.role} role`);
  }
}
