// A live rollout: its state and halt reason, operator actions, every wave with each target's state, and history.
import { useEffect, useRef } from "preact/hooks";
import { api } from "../api.js";
import {
  announce,
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
  words,
} from "../lib.js";
import { progressOf } from "./rollouts.js";

/** Which actions make sense in which state; the server has the last word and its message is shown. */
const ACTIONS = [
  { verb: "pause", label: "Pause", when: ["running"] },
  { verb: "resume", label: "Resume", when: ["paused", "halted"] },
  { verb: "retry", label: "Retry failed", when: ["running", "paused", "halted", "completed"], needsFailed: true },
  {
    verb: "rollback",
    label: "Roll back",
    when: ["running", "paused", "halted", "completed", "aborted"],
    confirm: "Roll every updated appliance back to the release it ran before?",
  },
  {
    verb: "abort",
    label: "Abort",
    when: ["running", "paused", "halted"],
    confirm: "Abort this rollout? Appliances keep what they run now.",
    danger: true,
  },
];

function Wave({ w, now }) {
  const counts = Object.entries(w.counts ?? {}).filter(([, n]) => n > 0);
  return html`<section class="card wave" aria-labelledby=${`wave-${w.index}`} data-testid=${`wave-${w.index}`}>
    <div class="section-head">
      <h3 id=${`wave-${w.index}`}>${w.index === 0 ? "Wave 0 · canary" : `Wave ${w.index}`} <${Badge} status=${w.state} /></h3>
      <p class="muted">${w.size ?? w.targets?.length ?? 0} appliances${counts.length ? ` · ${counts.map(([k, n]) => `${n} ${words(k)}`).join(", ")}` : ""}</p>
    </div>
    ${
      w.targets?.length
        ? html`<table class="table compact">
            <caption class="sr-only">Targets of wave ${w.index}</caption>
            <thead><tr><th scope="col">Appliance</th><th scope="col">State</th><th scope="col">Reason</th><th scope="col">Updated</th></tr></thead>
            <tbody>
              ${w.targets.map(
                (t) => html`<tr key=${t.applianceId} data-state=${t.state}>
                  <th scope="row"><${Link} href=${`/appliances/${encodeURIComponent(t.applianceId)}`}>${t.applianceName ?? t.applianceId}</${Link}></th>
                  <td><${Badge} status=${t.state} /></td>
                  <td>${t.reason ?? ""}</td>
                  <td>${t.updatedAt ? html`<time datetime=${t.updatedAt}>${timeAgo(t.updatedAt, now)}</time>` : "—"}</td>
                </tr>`,
              )}
            </tbody>
          </table>`
        : html`<p class="muted">Targets are chosen when the wave opens.</p>`
    }
  </section>`;
}

export function RolloutDetailPage({ id, me }) {
  const now = useNow(2000);
  const r = usePoll(() => api(`/v1/rollouts/${encodeURIComponent(id)}`), [id], 2000);
  const act = useAction();
  const ro = r.data;
  const lastState = useRef(undefined);

  useEffect(() => {
    if (!ro) return;
    if (lastState.current && lastState.current !== ro.state) {
      announce(
        `Rollout is now ${ro.state}${ro.haltReason && ro.state === "halted" ? `: ${ro.haltReason}` : ""}`,
        ro.state === "halted" ? "error" : "info",
      );
    }
    lastState.current = ro.state;
  }, [ro?.state, ro?.haltReason]);

  const canAct = atLeast(me.role, "operator");
  const doAction = (a) => {
    if (a.confirm && !window.confirm(a.confirm)) return;
    act.run(async () => {
      await api(`/v1/rollouts/${encodeURIComponent(id)}/${a.verb}`, { method: "POST", body: {} });
      await r.refresh();
    }, `${a.label} requested`);
  };
  const p = ro ? progressOf(ro) : { done: 0, total: 0 };
  const transitions = ro?.transitions ?? [];
  const failedCount = (ro?.counts?.failed ?? 0) + (ro?.counts?.["timed-out"] ?? ro?.counts?.timedOut ?? 0);
  const names = new Map(
    (ro?.waves ?? []).flatMap((w) => (w.targets ?? []).map((t) => [t.applianceId, t.applianceName])),
  );
  const subjectOf = (t) =>
    t.subject === "target"
      ? (names.get(t.applianceId) ?? t.applianceId)
      : t.subject === "wave"
        ? `wave ${t.waveIndex}`
        : "rollout";

  return html`<section class="page">
    <p class="crumbs"><${Link} href="/rollouts">Rollouts</${Link}> <span aria-hidden="true">›</span> ${ro?.name || id}</p>
    <div class="page-head">
      <${PageTitle} title=${ro?.name || "Rollout"}>${ro?.name || "Rollout"} ${ro ? html`<${Badge} status=${ro.state} />` : null}</${PageTitle}>
      <${Updated} ...${r} />
    </div>
    ${r.error && !ro ? html`<${ErrorBox} error=${r.error} />` : null}
    ${
      ro
        ? html`
          <p class="lead">
            Release <strong>${ro.release?.version ?? ro.release?.chartVersion ?? ro.releaseId ?? "?"}</strong>
            ${ro.release?.channel ? html` on <strong>${ro.release.channel}</strong>` : null}
            · ${p.done} of ${p.total} healthy
            <progress max=${p.total || 1} value=${p.done} aria-label="Healthy targets">${p.done}/${p.total}</progress>
          </p>
          ${
            ro.haltReason
              ? html`<div class="halt-box" role="alert" data-testid="halt-reason">
                  <strong><span aria-hidden="true">■ </span>Halted:</strong> ${ro.haltReason}
                </div>`
              : null
          }
          <div class="toolbar" role="group" aria-label="Rollout actions">
            ${ACTIONS.filter(
              (a) =>
                a.when.includes(ro.state) &&
                (!a.needsFailed || failedCount > 0) &&
                // a plain resume of a rollout halted by failures would halt again at once: retry them instead
                !(a.verb === "resume" && ro.state === "halted" && failedCount > 0),
            ).map((a) => {
              const retryHalted = a.verb === "retry" && ro.state === "halted";
              const primary = retryHalted || a.verb === "resume";
              const cls = `btn ${a.danger ? "btn-danger" : primary ? "btn-primary" : ""}`;
              return html`<button type="button" class=${cls} disabled=${!canAct || act.busy} onClick=${() => doAction(a)}>
                ${retryHalted ? "Retry failed and resume" : a.label}
              </button>`;
            })}
            ${canAct ? null : html`<span class="note">Your role (${me.role}) can watch but not steer rollouts.</span>`}
          </div>
          <${ErrorBox} error=${act.error} />
          <div class="waves">${(ro.waves ?? []).map((w) => html`<${Wave} key=${w.index} w=${w} now=${now} />`)}</div>
          <section class="block" aria-labelledby="hist-title">
            <h2 id="hist-title">History <span class="muted">· newest first</span></h2>
            <ol class="timeline" data-testid="transitions">
              ${transitions.length === 0 ? html`<li class="muted">No transitions yet.</li>` : null}
              ${transitions.map(
                (t, i) => html`<li key=${i}>
                  <time datetime=${t.at}>${fmtDate(t.at, { seconds: true })}</time>
                  <strong>${subjectOf(t)}</strong>
                  <span class="pill">${t.from ? `${t.from} → ` : ""}${t.to ?? t.state ?? t.kind ?? ""}</span>
                  <span>${t.reason ?? t.summary ?? ""}</span>
                  ${t.actor ? html` <span class="muted">by ${t.actor}</span>` : null}
                </li>`,
              )}
            </ol>
          </section>`
        : null
    }
  </section>`;
}
