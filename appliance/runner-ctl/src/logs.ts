// logs <integration> [-f]: the integration's log, without naming pods or containers.
import { Writable } from "node:stream";
import type { V1Pod } from "@kubernetes/client-node";
import type { Ctx } from "./context.ts";
import { CliError } from "./context.ts";
import { INTEGRATION_LABEL, Kube } from "./kube.ts";

export interface LogsOptions {
  integration: string;
  follow: boolean;
  tail?: number;
  all: boolean;
  signal?: AbortSignal;
}

function container(p: V1Pod): string {
  const names = (p.spec?.containers ?? []).map((c) => c.name);
  return names.includes("camel") ? "camel" : (names[0] ?? "");
}

export async function logs(ctx: Ctx, o: LogsOptions): Promise<number> {
  const kube = new Kube(ctx);
  const pods = (await kube.integrationPods(o.integration)).filter((p) => p.status?.phase !== "Pending");
  if (pods.length === 0) {
    const known = new Set(
      (await kube.deployments(INTEGRATION_LABEL)).map((d) => d.metadata?.labels?.[INTEGRATION_LABEL] ?? ""),
    );
    const list = [...known].filter(Boolean).sort();
    throw new CliError(
      known.has(o.integration)
        ? `integration ${o.integration} has no running copy yet; see 'runner-ctl status'`
        : `no integration named ${o.integration}${list.length ? ` (installed: ${list.join(", ")})` : " (none is installed)"}`,
    );
  }
  const chosen = o.all ? pods : pods.slice(0, 1);
  const prefix = (p: V1Pod) => (o.all ? `[${p.metadata?.name}] ` : "");
  if (!o.follow) {
    for (const p of chosen) {
      const text = await kube.podLog(p.metadata?.name ?? "", container(p), o.tail);
      ctx.io.out(prefix(p) ? text.replace(/^(?=.)/gm, prefix(p)) : text);
    }
    return 0;
  }
  const controllers: AbortController[] = [];
  const ends = chosen.map(
    (p) =>
      new Promise<void>((resolve, reject) => {
        let carry = "";
        const w = new Writable({
          write(chunk: Buffer, _enc, cb) {
            const text = carry + chunk.toString("utf8");
            const cut = text.lastIndexOf("\n") + 1;
            carry = text.slice(cut);
            const whole = text.slice(0, cut);
            if (whole) ctx.io.out(prefix(p) ? whole.replace(/^(?=.)/gm, prefix(p)) : whole);
            cb();
          },
          final(cb) {
            if (carry) ctx.io.out(prefix(p) + carry);
            cb();
          },
        });
        w.on("finish", () => resolve());
        w.on("close", () => resolve());
        kube
          .followLog(p.metadata?.name ?? "", container(p), w, o.tail)
          .then((c) => controllers.push(c))
          .catch(reject);
      }),
  );
  const stop = () => {
    for (const c of controllers) c.abort();
  };
  o.signal?.addEventListener("abort", stop, { once: true });
  await Promise.race([Promise.all(ends), new Promise<void>((r) => o.signal?.addEventListener("abort", () => r()))]);
  stop();
  return 0;
}
