// Rollouts: a live list, newest first, with each rollout's state and progress.
import { api } from "../api.js";
import { atLeast, Badge, ErrorBox, fmtDate, html, Link, PageTitle, Updated, usePoll } from "../lib.js";

/** Healthy of total targets, from a rollout (waves with counts) or a list summary (total / healthy). */
export function progressOf(r) {
  if (typeof r.total === "number") return { done: r.healthy ?? 0, total: r.total, failed: r.failed ?? 0 };
  let done = 0;
  let total = 0;
  for (const w of r.waves ?? []) {
    total += w.size ?? w.targets?.length ?? 0;
    done += w.counts?.healthy ?? 0;
  }
  return { done, total, failed: (r.counts?.failed ?? 0) + (r.counts?.timedOut ?? 0) };
}

export function RolloutsPage({ me }) {
  const list = usePoll(() => api("/v1/rollouts", { query: { limit: 50 } }), [], 3000);
  const items = list.data?.items ?? [];
  return html`<section class="page">
    <div class="page-head">
      <${PageTitle}>Rollouts</${PageTitle}>
      <${Updated} ...${list} />
      ${atLeast(me.role, "operator") ? html`<${Link} class="btn btn-primary" href="/rollouts/new" aria-keyshortcuts="n">New rollout</${Link}>` : null}
    </div>
    <${ErrorBox} error=${list.error && !list.data ? list.error : undefined} />
    <table class="table" data-testid="rollouts-table">
      <caption>Rollouts · newest first</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Release</th><th scope="col">State</th><th scope="col">Progress</th><th scope="col">Created</th></tr></thead>
      <tbody>
        ${
          items.length === 0 && list.data
            ? html`<tr><td colspan="5" class="empty">No rollouts yet.</td></tr>`
            : items.map((r) => {
                const p = progressOf(r);
                return html`<tr key=${r.id}>
                  <th scope="row"><${Link} href=${`/rollouts/${encodeURIComponent(r.id)}`}>${r.name || r.id}</${Link}></th>
                  <td><code>${r.version ?? r.release?.version ?? r.releaseId}</code> <span class="muted">${r.channel ?? r.release?.channel ?? ""}</span></td>
                  <td><${Badge} status=${r.state} />${r.haltReason ? html` <span class="muted">${r.haltReason}</span>` : null}</td>
                  <td>
                    ${p.total ? `${p.done} / ${p.total} healthy` : "—"}${p.failed ? html` · <span class="behind">${p.failed} failed</span>` : null}
                    ${p.total ? html`<progress max=${p.total} value=${p.done} aria-hidden="true"></progress>` : null}
                  </td>
                  <td>${fmtDate(r.createdAt)}</td>
                </tr>`;
              })
        }
      </tbody>
    </table>
  </section>`;
}
