// One appliance: facts, telemetry charts, support actions and commands (with results), log follow, the timeline.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, downloadFile, listAll, readEvents } from "../api.js";
import { applianceCharts, TimeChart } from "../chart.js";
import {
  atLeast,
  Badge,
  ErrorBox,
  fmtDate,
  html,
  Link,
  PageTitle,
  timeAgo,
  Updated,
  useAction,
  useNow,
  usePoll,
} from "../lib.js";

/**
 * The allow-listed support actions (POST /v1/appliances/{id}/support/{action}): the agent runs each under its own
 * service account, redacts secrets, and the cloud audits it. `role` mirrors shared/src/protocol/support.ts.
 */
export const SUPPORT_ACTIONS = [
  {
    action: "workloads",
    label: "Workloads",
    help: "Deployments and pods of the release, readiness and restarts.",
    role: "viewer",
  },
  {
    action: "events",
    label: "Events",
    help: "Kubernetes events of the release namespace.",
    role: "viewer",
    args: { limit: 100 },
  },
  { action: "helm-status", label: "Helm status", help: "The runner release as Helm sees it.", role: "viewer" },
  { action: "helm-history", label: "Helm history", help: "The release's revisions.", role: "viewer" },
  { action: "helm-values", label: "Helm values", help: "The release's values, secrets redacted.", role: "operator" },
  {
    action: "bundle",
    label: "Support bundle",
    help: "Workloads, events, Helm state and log tails, redacted.",
    role: "operator",
  },
];

/** Most log text the follow view keeps (the oldest lines go first). */
const FOLLOW_KEEP_CHARS = 200_000;

function Facts({ a, now }) {
  const rows = [
    ["Customer", a.customer?.name ?? a.customerName ?? a.customerId ?? "—"],
    ["Status", html`<${Badge} status=${a.status} />`],
    ["Last seen", a.lastSeenAt ? html`<time datetime=${a.lastSeenAt}>${timeAgo(a.lastSeenAt, now)}</time>` : "never"],
    ["Enabled", a.state === "disabled" ? html`<${Badge} status="disabled" label="disabled" />` : "yes"],
    ["Chart version", a.chartVersion ?? a.observedChartVersion ?? "—"],
    ["Agent version", a.agentVersion ?? "—"],
    ["Channel", a.channel ?? "—"],
    ["Kubernetes", a.kubernetesVersion ?? a.facts?.kubernetesVersion ?? "—"],
    ["Tags", (a.tags ?? []).join(", ") || "—"],
    ["Appliance id", html`<code>${a.id}</code>`],
  ];
  return html`<dl class="facts card">
    ${rows.map(([k, v]) => html`<div><dt>${k}</dt><dd>${v}</dd></div>`)}
  </dl>`;
}

const WINDOW_MS = 15 * 60 * 1000;

function Charts({ id }) {
  const tel = usePoll(
    () =>
      api(`/v1/appliances/${encodeURIComponent(id)}/metrics`, {
        query: { since: new Date(Date.now() - WINDOW_MS).toISOString(), limit: 5000 },
      }),
    [id],
    5000,
  );
  const charts = tel.data ? applianceCharts(tel.data) : [];
  return html`<section aria-labelledby="tel-title" class="block">
    <div class="section-head"><h2 id="tel-title">Telemetry <span class="muted">· last 15 minutes</span></h2><${Updated} ...${tel} /></div>
    ${tel.error && !tel.data ? html`<${ErrorBox} error=${tel.error} />` : null}
    ${tel.data && charts.length === 0 ? html`<p class="muted">No metrics received from this appliance yet.</p>` : null}
    <div class="charts" data-testid="charts">
      ${charts.map((c) => html`<${TimeChart} key=${c.title} title=${c.title} series=${c.series} unit=${c.unit} />`)}
    </div>
  </section>`;
}

function resultText(c) {
  if (c.error) return c.error;
  if (c.result === undefined || c.result === null) return "";
  return typeof c.result === "string" ? c.result : JSON.stringify(c.result, null, 2);
}

/** A pod's log: its tail as a command result, or followed live through the tunnel until stopped. */
function Logs({ id, pods, onQueued }) {
  const [pod, setPod] = useState("");
  const [tail, setTail] = useState(200);
  const [follow, setFollow] = useState(undefined);
  const act = useAction();
  const reader = useRef(undefined);
  const out = useRef(undefined);
  useEffect(() => () => reader.current?.abort(), []);
  useEffect(() => {
    if (out.current) out.current.scrollTop = out.current.scrollHeight;
  }, [follow?.text]);
  const base = `/v1/appliances/${encodeURIComponent(id)}/support/logs`;
  const args = (more) => ({ pod: pod.trim(), tailLines: Number(tail) || 200, ...more });
  const showTail = (e) => {
    e.preventDefault();
    act.run(async () => {
      await api(base, { method: "POST", body: { args: args({}), waitMs: 0 } });
      onQueued();
    }, `Log tail of ${pod} requested`);
  };
  const start = () =>
    act.run(async () => {
      reader.current?.abort();
      const r = await api(base, { method: "POST", body: { args: args({ follow: true, maxSeconds: 900 }), waitMs: 0 } });
      const commandId = r.command.id;
      const ctl = new AbortController();
      reader.current = ctl;
      setFollow({ commandId, pod: pod.trim(), text: "", ended: undefined });
      onQueued();
      readEvents(`/v1/commands/${encodeURIComponent(commandId)}/stream`, {
        signal: ctl.signal,
        onEvent: (ev) => {
          if (ev.event === "chunk") {
            setFollow((f) => f && { ...f, text: `${f.text}${ev.data}\n`.slice(-FOLLOW_KEEP_CHARS) });
          } else if (ev.event === "end") {
            const c = JSON.parse(ev.data);
            setFollow((f) => f && { ...f, ended: c?.error ?? c?.result?.ended ?? c?.status ?? "ended" });
            onQueued();
          }
        },
      }).catch((err) => setFollow((f) => f && { ...f, ended: err.message }));
    });
  const stop = () =>
    act.run(
      () => api(`/v1/commands/${encodeURIComponent(follow.commandId)}/stream`, { method: "DELETE" }),
      "Follow stopped",
    );
  const following = follow && !follow.ended;
  return html`<div class="card logs" data-testid="logs">
    <form class="inline-form" onSubmit=${showTail}>
      <div class="field">
        <label for="log-pod">Pod</label>
        <input id="log-pod" list="log-pods" required value=${pod} onInput=${(e) => setPod(e.currentTarget.value)}
          placeholder=${pods[0] ?? "run Workloads to list pods"} aria-describedby="log-help" />
        <datalist id="log-pods">${pods.map((p) => html`<option value=${p} />`)}</datalist>
        <span id="log-help" class="hint">Lines are redacted by the agent before they leave the cluster.</span>
      </div>
      <div class="field">
        <label for="log-tail">Tail lines</label>
        <input id="log-tail" type="number" min="1" max="10000" value=${tail} onInput=${(e) => setTail(e.currentTarget.value)} />
      </div>
      <button class="btn" type="submit" disabled=${act.busy || !pod.trim()}>Show tail</button>
      ${
        following
          ? html`<button class="btn btn-danger" type="button" disabled=${act.busy} onClick=${stop}>Stop following</button>`
          : html`<button class="btn btn-primary" type="button" disabled=${act.busy || !pod.trim()} onClick=${start}>Follow</button>`
      }
    </form>
    <${ErrorBox} error=${act.error} />
    ${
      follow
        ? html`<p class="muted" role="status">${following ? `Following ${follow.pod}…` : `Follow of ${follow.pod} ended: ${follow.ended}`}</p>
          <pre class="log-view" ref=${out} data-testid="log-view" tabindex="0" aria-label=${`Log of ${follow.pod}`}>${follow.text}</pre>`
        : null
    }
  </div>`;
}

function Commands({ id, me, online }) {
  const cmds = usePoll(
    () => api(`/v1/appliances/${encodeURIComponent(id)}/commands`, { query: { limit: 20 } }),
    [id],
    3000,
  );
  const act = useAction();
  const run = (action, args = {}) =>
    act.run(
      async () => {
        const r = await api(`/v1/appliances/${encodeURIComponent(id)}/support/${action}`, {
          method: "POST",
          body: { args, waitMs: 0 },
        });
        cmds.refresh();
        return r;
      },
      `${action} requested${online ? "" : " (the appliance is offline; it runs when it reconnects)"}`,
    );
  const items = cmds.data?.items ?? (Array.isArray(cmds.data) ? cmds.data : []);
  const now = useNow(5000);
  // pods named by the newest workloads answer, offered in the logs form
  const pods = (items.find((c) => c.type === "support.workloads" && c.status === "succeeded")?.result?.pods ?? [])
    .map((p) => p.name)
    .filter(Boolean);

  return html`<section aria-labelledby="cmd-title" class="block">
    <div class="section-head"><h2 id="cmd-title">Support actions and commands</h2><${Updated} ...${cmds} /></div>
    ${atLeast(me.role, "operator") ? null : html`<p class="note">Your role (${me.role}) can look at workloads, events and Helm state; logs, values and bundles need the operator role.</p>`}
    <ul class="actions-grid">
      ${SUPPORT_ACTIONS.map(
        (a) => html`<li>
          <button class="btn" type="button" disabled=${!atLeast(me.role, a.role) || act.busy} aria-describedby=${`help-${a.action}`}
            onClick=${() => run(a.action, a.args)}>${a.label}</button>
          <span id=${`help-${a.action}`} class="hint">${a.help}</span>
        </li>`,
      )}
    </ul>
    <${ErrorBox} error=${act.error} />
    ${atLeast(me.role, "operator") ? html`<${Logs} id=${id} pods=${pods} onQueued=${cmds.refresh} />` : null}
    <table class="table compact" data-testid="commands-table">
      <caption>Recent commands</caption>
      <thead><tr><th scope="col">#</th><th scope="col">Command</th><th scope="col">Status</th><th scope="col">Created</th><th scope="col">By</th><th scope="col">Result</th></tr></thead>
      <tbody>
        ${
          items.length === 0
            ? html`<tr><td colspan="6" class="empty">No commands yet.</td></tr>`
            : items.map(
                (c) => html`<tr key=${c.id}>
                  <td>${c.seq ?? ""}</td>
                  <th scope="row">${c.type ?? c.command}</th>
                  <td><${Badge} status=${c.status} /></td>
                  <td><time datetime=${c.createdAt}>${timeAgo(c.createdAt, now)}</time></td>
                  <td>${c.createdBy ?? ""}</td>
                  <td>
                    ${resultText(c) ? html`<details><summary>${c.error ? "Error" : "Result"}</summary><pre>${resultText(c)}</pre></details>` : "—"}
                    ${
                      c.type === "support.bundle" &&
                      c.status === "succeeded" &&
                      c.result?.uploaded &&
                      atLeast(me.role, "operator")
                        ? html`<button class="btn btn-small" type="button" disabled=${act.busy}
                            onClick=${() => act.run(() => downloadFile(`/v1/commands/${encodeURIComponent(c.id)}/bundle`, "support-bundle.json.gz"), "Support bundle downloaded")}>Download bundle</button>`
                        : null
                    }
                  </td>
                </tr>`,
              )
        }
      </tbody>
    </table>
  </section>`;
}

/** Operator controls: pin to a release (or follow the channel), disable / enable the appliance. */
function Manage({ a, me, onChanged }) {
  const [releases, setReleases] = useState(undefined);
  const [pin, setPin] = useState(a.pinnedReleaseId ?? "");
  const act = useAction();
  useEffect(() => {
    listAll("/v1/releases", { channel: a.channel || undefined, limit: 200 }, 3).then(
      (r) => setReleases(r.filter((x) => x.state !== "yanked")),
      () => setReleases([]),
    );
  }, [a.channel]);
  if (!atLeast(me.role, "operator")) return null;
  const base = `/v1/appliances/${encodeURIComponent(a.id)}`;
  const savePin = (e) => {
    e.preventDefault();
    act
      .run(
        () => api(`${base}/pin`, { method: "POST", body: { releaseId: pin || null } }),
        pin ? "Appliance pinned" : "Appliance follows its channel again",
      )
      .then(onChanged);
  };
  const toggle = () => {
    const disabling = a.state !== "disabled";
    const reason = disabling
      ? window.prompt("Disable this appliance? Its tunnel closes and it cannot reconnect until enabled. Reason:", "")
      : "";
    if (reason === null) return;
    act
      .run(
        () =>
          api(`${base}/${disabling ? "disable" : "enable"}`, {
            method: "POST",
            body: reason?.trim() ? { reason: reason.trim() } : {},
          }),
        disabling ? "Appliance disabled" : "Appliance enabled",
      )
      .then(onChanged);
  };
  return html`<section aria-labelledby="manage-title" class="block">
    <h2 id="manage-title">Manage</h2>
    <div class="card manage">
      <form class="inline-form" onSubmit=${savePin}>
        <div class="field">
          <label for="pin-release">Pinned release</label>
          <select id="pin-release" value=${pin} onChange=${(e) => setPin(e.currentTarget.value)} aria-describedby="pin-help">
            <option value="">Not pinned (follows ${a.channel ?? "its channel"})</option>
            ${(releases ?? []).map((r) => html`<option value=${r.id}>${r.version} · ${r.channel}</option>`)}
          </select>
          <span id="pin-help" class="hint">A pinned appliance stays on that release; rollouts leave it out.</span>
        </div>
        <button class="btn" type="submit" disabled=${act.busy || pin === (a.pinnedReleaseId ?? "")}>Save pin</button>
      </form>
      <div class="toolbar">
        <button class=${`btn ${a.state === "disabled" ? "btn-primary" : "btn-danger"}`} type="button" disabled=${act.busy} onClick=${toggle}>
          ${a.state === "disabled" ? "Enable appliance" : "Disable appliance"}
        </button>
      </div>
      <${ErrorBox} error=${act.error} />
    </div>
  </section>`;
}

function Timeline({ id }) {
  const tl = usePoll(
    () => api(`/v1/fleet/appliances/${encodeURIComponent(id)}/timeline`, { query: { limit: 30 } }),
    [id],
    3000,
  );
  const items = tl.data?.items ?? [];
  return html`<section aria-labelledby="tl-title" class="block">
    <div class="section-head"><h2 id="tl-title">Timeline</h2><${Updated} ...${tl} /></div>
    ${tl.error && !tl.data ? html`<${ErrorBox} error=${tl.error} />` : null}
    <ol class="timeline">
      ${items.length === 0 && tl.data ? html`<li class="muted">Nothing has happened yet.</li>` : null}
      ${items.map(
        (e, i) => html`<li key=${`${e.at}-${i}`}>
          <time datetime=${e.at}>${fmtDate(e.at, { seconds: true })}</time>
          <span class="pill">${e.kind}</span>
          <span>${e.summary}</span>
        </li>`,
      )}
    </ol>
  </section>`;
}

export function AppliancePage({ id, me }) {
  const now = useNow(5000);
  const detail = usePoll(
    async () => {
      const [a, fleet] = await Promise.allSettled([
        api(`/v1/appliances/${encodeURIComponent(id)}`),
        api("/v1/fleet/appliances", { query: { q: id, limit: 5 } }),
      ]);
      if (a.status === "rejected") throw a.reason;
      // The fleet view adds customer name, channel and versions-behind to the appliance record when it has them.
      const row = fleet.status === "fulfilled" ? fleet.value?.items?.find((x) => x.id === id) : undefined;
      const apl = a.value;
      return {
        ...apl,
        ...(row ?? {}),
        status: row?.status ?? apl.presence?.status,
        lastSeenAt: row?.lastSeenAt ?? apl.presence?.lastSeenAt,
        agentVersion: row?.agentVersion ?? apl.presence?.agentVersion,
        kubernetesVersion: row?.kubernetesVersion ?? apl.facts?.kubernetesVersion,
        state: apl.state,
      };
    },
    [id],
    3000,
  );
  const a = detail.data;
  return html`<section class="page">
    <p class="crumbs"><${Link} href="/fleet">Fleet</${Link}> <span aria-hidden="true">›</span> <span>${a?.name ?? id}</span></p>
    <div class="page-head">
      <${PageTitle} title=${a?.name ?? "Appliance"}>${a?.name ?? "Appliance"} ${a ? html`<${Badge} status=${a.status} />` : null}</${PageTitle}>
      <${Updated} ...${detail} />
    </div>
    ${detail.error && !a ? html`<${ErrorBox} error=${detail.error} />` : null}
    ${a ? html`<${Facts} a=${a} now=${now} />` : null}
    ${a ? html`<${Charts} id=${id} />` : null}
    ${a ? html`<${Commands} id=${id} me=${me} online=${a.status !== "offline"} />` : null}
    ${a ? html`<${Manage} a=${a} me=${me} onChanged=${detail.refresh} />` : null}
    ${a ? html`<${Timeline} id=${id} />` : null}
  </section>`;
}
