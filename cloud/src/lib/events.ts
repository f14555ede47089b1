// In-process domain events. Same-process listeners (the tunnel gateway) subscribe here; other replicas
// learn the same facts from Postgres NOTIFY on the channels named below (sent inside the mutation's transaction).
import { EventEmitter } from "node:events";

export interface LicenseStateChanged {
  orgId: string;
  licenseId: string;
  state: "active" | "suspended" | "revoked";
  previousState: "active" | "suspended" | "revoked";
  reason: string | null;
}

export interface CloudEventMap {
  licenseStateChanged: [LicenseStateChanged];
}

/** NOTIFY channel whose payload is the license id whose state changed. */
export const LICENSE_STATE_CHANNEL = "license_state";

export class CloudEvents extends EventEmitter<CloudEventMap> {}
