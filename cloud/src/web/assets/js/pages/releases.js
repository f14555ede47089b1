// Releases and channels: what can be rolled out; yank a bad release.
import { useState } from "preact/hooks";
import { api, listAll } from "../api.js";
import { atLeast, Badge, ErrorBox, fmtDate, html, PageTitle, Updated, useAction, usePoll } from "../lib.js";

export function ReleasesPage({ me }) {
  const rel = usePoll(() => listAll("/v1/releases", { limit: 200 }, 5), [], 10000);
  const ch = usePoll(() => listAll("/v1/channels"), [], 30000);
  const act = useAction();
  const [channelName, setChannelName] = useState("");
  const canEdit = atLeast(me.role, "operator");

  const yank = async (r) => {
    const reason = window.prompt(
      `Why yank ${r.version}? Appliances on it keep running; no new rollout can use it.`,
      "",
    );
    if (reason === null) return;
    const ok = await act.run(
      () =>
        api(`/v1/releases/${encodeURIComponent(r.id)}/yank`, {
          method: "POST",
          body: reason.trim() ? { reason: reason.trim() } : {},
        }),
      `Release ${r.version} yanked`,
    );
    if (ok !== undefined) rel.refresh();
  };
  const addChannel = async (e) => {
    e.preventDefault();
    const ok = await act.run(
      () => api("/v1/channels", { method: "POST", body: { name: channelName.trim() } }),
      `Channel ${channelName} created`,
    );
    if (ok) {
      setChannelName("");
      ch.refresh();
    }
  };
  const items = rel.data ?? [];

  return html`<section class="page">
    <div class="page-head"><${PageTitle}>Releases</${PageTitle}><${Updated} ...${rel} /></div>
    <p class="hint">Publish releases with the API (<code>POST /v1/releases</code>, chart archive or URL and digest); see <a href="/docs">the API reference</a>.</p>
    <${ErrorBox} error=${act.error ?? (rel.data ? undefined : rel.error)} />
    <table class="table" data-testid="releases-table">
      <caption>Releases</caption>
      <thead><tr><th scope="col">Version</th><th scope="col">Channel</th><th scope="col">State</th><th scope="col">Digest</th><th scope="col">Published</th><th scope="col">Notes</th><th scope="col">Actions</th></tr></thead>
      <tbody>
        ${
          items.length === 0 && rel.data
            ? html`<tr><td colspan="7" class="empty">No releases yet.</td></tr>`
            : items.map(
                (r) => html`<tr key=${r.id}>
                  <th scope="row"><code>${r.version}</code>${r.required ? html` <span class="pill">required</span>` : null}</th>
                  <td>${r.channel}</td>
                  <td><${Badge} status=${r.state} />${r.yankReason ? html`<div class="hint">${r.yankReason}</div>` : null}</td>
                  <td><code title=${r.chartDigest}>${(r.chartDigest ?? "").slice(0, 12)}</code></td>
                  <td>${fmtDate(r.publishedAt)}</td>
                  <td>${r.notes}</td>
                  <td>${canEdit && r.state !== "yanked" ? html`<button class="btn btn-small btn-danger" type="button" onClick=${() => yank(r)} aria-label=${`Yank ${r.version}`}>Yank</button>` : null}</td>
                </tr>`,
              )
        }
      </tbody>
    </table>
    <section class="block" aria-labelledby="channels-title">
      <h2 id="channels-title">Channels</h2>
      <ul class="chips">${(ch.data ?? []).map((c) => html`<li class="tag">${c.name}</li>`)}</ul>
      ${
        canEdit
          ? html`<form class="inline-form" onSubmit=${addChannel}>
              <label for="ch-name">New channel</label>
              <input id="ch-name" pattern="[a-z0-9][a-z0-9\\-]{0,39}" value=${channelName} onInput=${(e) => setChannelName(e.currentTarget.value)} />
              <button class="btn" type="submit" disabled=${act.busy || !channelName.trim()}>Add channel</button>
            </form>`
          : null
      }
    </section>
  </section>`;
}
