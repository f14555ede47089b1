// What the agent's service account may do, asked once with SelfSubjectAccessReview, so an agent-only install
// with minimal RBAC reports what it can and never tries what it may not.
import type { KubeAuthz } from "./kube.ts";

export interface AccessQuestion {
  verb: string;
  resource: string;
  group?: string;
  /** undefined: cluster scope */
  namespace?: string;
  subresource?: string;
}

const keyOf = (q: AccessQuestion) =>
  `${q.verb} ${q.group ?? ""}/${q.resource}/${q.subresource ?? ""} @${q.namespace ?? "*"}`;

export class AccessChecker {
  private readonly authz: KubeAuthz;
  private readonly ttlMs: number;
  private readonly cache = new Map<string, { allowed: boolean; at: number }>();
  constructor(authz: KubeAuthz, ttlMs = 5 * 60_000) {
    this.authz = authz;
    this.ttlMs = ttlMs;
  }

  async can(q: AccessQuestion): Promise<boolean> {
    const key = keyOf(q);
    const hit = this.cache.get(key);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.allowed;
    let allowed = false;
    try {
      const r = await this.authz.createSelfSubjectAccessReview({
        body: {
          apiVersion: "authorization.k8s.io/v1",
          kind: "SelfSubjectAccessReview",
          spec: {
            resourceAttributes: {
              verb: q.verb,
              resource: q.resource,
              group: q.group ?? "",
              namespace: q.namespace,
              subresource: q.subresource,
            },
          },
        },
      });
      allowed = r.status?.allowed === true;
    } catch {
      // If we cannot even ask, assume no: the calls themselves still handle a 403.
      allowed = false;
    }
    this.cache.set(key, { allowed, at: Date.now() });
    return allowed;
  }

  /** A summary for telemetry: which capabilities this install has. */
  async summary(namespace: string) {
    const [nodes, pods, logs, deployments, leases, secrets, events] = await Promise.all([
      this.can({ verb: "list", resource: "nodes" }),
      this.can({ verb: "list", resource: "pods", namespace }),
      this.can({ verb: "get", resource: "pods", subresource: "log", namespace }),
      this.can({ verb: "list", resource: "deployments", group: "apps", namespace }),
      this.can({ verb: "update", resource: "leases", group: "coordination.k8s.io", namespace }),
      this.can({ verb: "list", resource: "secrets", namespace }),
      this.can({ verb: "list", resource: "events", namespace }),
    ]);
    return { nodes, pods, logs, deployments, leases, helmReleases: secrets, events };
  }
}
