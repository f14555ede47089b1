// Customers' maintenance windows: a cron expression (start of each window) in an IANA time zone, open for
// durationMinutes. An appliance whose customer has a window is only started while the window is open.
import { Cron } from "croner";

export interface MaintenanceWindow {
  cron: string;
  timeZone: string;
  durationMinutes: number;
}

export interface WindowCheck {
  open: boolean;
  /** when the next window opens (when closed) */
  nextOpensAt?: Date;
}

/** Throws when the cron expression or time zone is not valid (used to validate customer input too). */
export function validateWindow(w: MaintenanceWindow): void {
  new Cron(w.cron, { timezone: w.timeZone, paused: true }).nextRun(new Date());
}

export function checkWindow(w: MaintenanceWindow | null | undefined, now: Date): WindowCheck {
  if (!w) return { open: true };
  let cron: Cron;
  try {
    cron = new Cron(w.cron, { timezone: w.timeZone, paused: true });
  } catch {
    // a window we cannot read never blocks forever silently: treat it as closed and say so in the reason
    return { open: false };
  }
  const durationMs = Math.max(1, w.durationMinutes) * 60_000;
  // the window is open when a start fell within the last durationMinutes (nextRun is exclusive of its argument)
  const lastStart = cron.nextRun(new Date(now.getTime() - durationMs - 1000));
  if (lastStart && lastStart.getTime() <= now.getTime()) return { open: true };
  return { open: false, nextOpensAt: cron.nextRun(now) ?? undefined };
}
