// Remote support: the allow-listed commands an operator may run in an appliance through the tunnel, with their
// zod arguments. The agent refuses any other command type; the cloud offers exactly these (role-gated, audited).
import { z } from "zod";

const k8sName = z
  .string()
  .min(1)
  .max(253)
  .regex(/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/, "not a Kubernetes object name");

export const supportArgs = {
  /** Deployments, StatefulSets and pods of the release namespace, with readiness and restarts */
  "support.workloads": z.object({}).strict(),
  /** events of the release namespace, newest last */
  "support.events": z
    .object({
      limit: z.number().int().min(1).max(500).default(100),
      warningsOnly: z.boolean().default(false),
    })
    .strict(),
  /**
   * Logs of one pod of the release namespace. `follow: false` returns the tail; `follow: true` streams lines
   * through the command's stream (credit-based flow control) until `maxSeconds` or cancellation.
   */
  "support.logs": z
    .object({
      pod: k8sName,
      container: k8sName.max(63).optional(),
      tailLines: z.number().int().min(1).max(10_000).default(200),
      previous: z.boolean().default(false),
      follow: z.boolean().default(false),
      maxSeconds: z.number().int().min(1).max(3600).default(300),
    })
    .strict(),
  /** `helm status` of the release (manifest-free) */
  "support.helm-status": z.object({}).strict(),
  /** `helm history` of the release */
  "support.helm-history": z.object({ max: z.number().int().min(1).max(50).default(10) }).strict(),
  /** `helm get values` of the release, secrets redacted */
  "support.helm-values": z.object({ all: z.boolean().default(false) }).strict(),
  /** GET to an in-cluster service on the allow-list set in the values (`agent.support.http.allow`) */
  "support.http": z
    .object({
      service: k8sName.max(63),
      port: z.number().int().min(1).max(65_535),
      path: z
        .string()
        .max(2048)
        .regex(/^\/[^\s]*$/, "path must start with / and contain no spaces")
        .refine((p) => !p.split(/[/?#]/).includes(".."), "path must not contain .."),
    })
    .strict(),
  /** a redacted support bundle (workloads, events, helm status/history/values, log tails) uploaded to the cloud */
  "support.bundle": z
    .object({
      logTailLines: z.number().int().min(1).max(2000).default(200),
      /** where the agent PUTs the bundle (a cloud URL issued for this command) */
      uploadUrl: z.string().max(2048).optional(),
    })
    .strict(),
} as const;

export type SupportCommand = keyof typeof supportArgs;
export const SUPPORT_COMMANDS = Object.keys(supportArgs) as SupportCommand[];
export type SupportArgs<C extends SupportCommand> = z.infer<(typeof supportArgs)[C]>;

export const isSupportCommand = (t: string): t is SupportCommand => Object.hasOwn(supportArgs, t);

/** The URL segment of the cloud API: POST /v1/appliances/:id/support/<action> with action = the part after "support.". */
export const supportActionOf = (c: SupportCommand) => c.slice("support.".length);
export const supportCommandOf = (action: string): SupportCommand | undefined => {
  const c = `support.${action}`;
  return isSupportCommand(c) ? c : undefined;
};

/** Roles allowed to run each action: viewers may look, operators may also read logs, HTTP and bundles carry data. */
export const supportMinRole: Record<SupportCommand, "viewer" | "operator" | "admin"> = {
  "support.workloads": "viewer",
  "support.events": "viewer",
  "support.helm-status": "viewer",
  "support.helm-history": "viewer",
  "support.logs": "operator",
  "support.helm-values": "operator",
  "support.http": "operator",
  "support.bundle": "operator",
};
