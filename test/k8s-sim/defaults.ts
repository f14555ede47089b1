// The defaults the API server fills in on write, for the fields clients and waiters read back.

import type { Obj } from "./util.ts";

function podSpecDefaults(spec: Obj | undefined): void {
  if (!spec) return;
  spec.restartPolicy ??= "Always";
  spec.dnsPolicy ??= "ClusterFirst";
  spec.schedulerName ??= "default-scheduler";
  spec.terminationGracePeriodSeconds ??= 30;
  spec.securityContext ??= {};
  for (const c of [...(spec.containers ?? []), ...(spec.initContainers ?? [])] as Obj[]) {
    const image = String(c.image ?? "");
    const tagged = /:[^/]+$/.test(image.split("@")[0] ?? "") && !image.endsWith(":latest");
    c.imagePullPolicy ??= tagged || image.includes("@") ? "IfNotPresent" : "Always";
    c.terminationMessagePath ??= "/dev/termination-log";
    c.terminationMessagePolicy ??= "File";
    c.resources ??= {};
    for (const p of (c.ports ?? []) as Obj[]) p.protocol ??= "TCP";
  }
}

function templateDefaults(o: Obj): void {
  if (o.spec?.template) {
    o.spec.template.metadata ??= {};
    podSpecDefaults(o.spec.template.spec);
  }
}

export function applyDefaults(kind: string, o: Obj): void {
  o.spec ??= undefined;
  switch (kind) {
    case "Pod":
      o.spec ??= {};
      podSpecDefaults(o.spec);
      o.spec.enableServiceLinks ??= true;
      o.spec.preemptionPolicy ??= "PreemptLowerPriority";
      o.spec.priority ??= 0;
      break;
    case "Deployment":
      o.spec ??= {};
      o.spec.replicas ??= 1;
      o.spec.revisionHistoryLimit ??= 10;
      o.spec.progressDeadlineSeconds ??= 600;
      o.spec.strategy ??= {};
      o.spec.strategy.type ??= "RollingUpdate";
      if (o.spec.strategy.type === "RollingUpdate") {
        o.spec.strategy.rollingUpdate ??= {};
        o.spec.strategy.rollingUpdate.maxSurge ??= "25%";
        o.spec.strategy.rollingUpdate.maxUnavailable ??= "25%";
      }
      templateDefaults(o);
      break;
    case "ReplicaSet":
      o.spec ??= {};
      o.spec.replicas ??= 1;
      templateDefaults(o);
      break;
    case "StatefulSet":
      o.spec ??= {};
      o.spec.replicas ??= 1;
      o.spec.podManagementPolicy ??= "OrderedReady";
      o.spec.revisionHistoryLimit ??= 10;
      o.spec.updateStrategy ??= {};
      o.spec.updateStrategy.type ??= "RollingUpdate";
      if (o.spec.updateStrategy.type === "RollingUpdate") {
        o.spec.updateStrategy.rollingUpdate ??= {};
        o.spec.updateStrategy.rollingUpdate.partition ??= 0;
      }
      o.spec.persistentVolumeClaimRetentionPolicy ??= { whenDeleted: "Retain", whenScaled: "Retain" };
      templateDefaults(o);
      break;
    case "DaemonSet":
      o.spec ??= {};
      o.spec.revisionHistoryLimit ??= 10;
      o.spec.updateStrategy ??= {};
      o.spec.updateStrategy.type ??= "RollingUpdate";
      if (o.spec.updateStrategy.type === "RollingUpdate") {
        o.spec.updateStrategy.rollingUpdate ??= {};
        o.spec.updateStrategy.rollingUpdate.maxUnavailable ??= 1;
        o.spec.updateStrategy.rollingUpdate.maxSurge ??= 0;
      }
      templateDefaults(o);
      break;
    case "Job": {
      o.spec ??= {};
      o.spec.parallelism ??= 1;
      o.spec.completions ??= 1;
      o.spec.backoffLimit ??= 6;
      o.spec.completionMode ??= "NonIndexed";
      o.spec.suspend ??= false;
      const uid = o.metadata?.uid;
      if (uid && !o.spec.manualSelector) {
        const jobLabels = {
          "batch.kubernetes.io/controller-uid": uid,
          "batch.kubernetes.io/job-name": o.metadata.name,
          "controller-uid": uid,
          "job-name": o.metadata.name,
        };
        o.spec.selector ??= { matchLabels: { "batch.kubernetes.io/controller-uid": uid } };
        o.spec.template ??= {};
        o.spec.template.metadata ??= {};
        o.spec.template.metadata.labels = { ...(o.spec.template.metadata.labels ?? {}), ...jobLabels };
      }
      templateDefaults(o);
      break;
    }
    case "Service": {
      o.spec ??= {};
      o.spec.type ??= "ClusterIP";
      o.spec.sessionAffinity ??= "None";
      if (o.spec.type !== "ExternalName") {
        o.spec.ipFamilies ??= ["IPv4"];
        o.spec.ipFamilyPolicy ??= "SingleStack";
        o.spec.internalTrafficPolicy ??= "Cluster";
      }
      for (const p of (o.spec.ports ?? []) as Obj[]) {
        p.protocol ??= "TCP";
        p.targetPort ??= p.port;
      }
      break;
    }
    case "PersistentVolumeClaim":
      o.spec ??= {};
      o.spec.volumeMode ??= "Filesystem";
      break;
    case "Secret":
      o.type ??= "Opaque";
      if (o.stringData) {
        o.data ??= {};
        for (const [k, v] of Object.entries(o.stringData as Record<string, string>)) {
          o.data[k] = Buffer.from(String(v)).toString("base64");
        }
        delete o.stringData;
      }
      break;
    case "Namespace":
      o.spec ??= {};
      o.spec.finalizers ??= ["kubernetes"];
      o.metadata.labels = { ...(o.metadata.labels ?? {}), "kubernetes.io/metadata.name": o.metadata.name };
      break;
  }
  if (o.spec === undefined) delete o.spec;
}
