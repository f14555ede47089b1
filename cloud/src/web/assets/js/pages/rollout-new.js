// Creating a rollout: release, targets and strategy, with a live preview of its waves before starting it.
import { useEffect, useState } from "preact/hooks";
import { api, listAll } from "../api.js";
import { atLeast, ErrorBox, html, Link, navigate, PageTitle, useAction, useDebounced } from "../lib.js";

export const DEFAULT_STRATEGY = {
  canarySize: 1,
  wavePercent: 25,
  concurrency: 10,
  failureBudget: "2%",
  progressDeadlineSeconds: 1200,
  soakSeconds: 300,
  startsPerMinute: 20,
};

const STRATEGY_FIELDS = [
  ["canarySize", "Canary size", "Appliances in the first wave", 0, 1000],
  ["wavePercent", "Wave size (%)", "Share of the remaining targets per later wave", 1, 100],
  ["concurrency", "Concurrency", "Appliances updating at the same time", 1, 1000],
  [
    "failureBudget",
    "Failure budget",
    "Failures tolerated per wave before the rollout halts: a count or N% (the canary tolerates none)",
  ],
  ["progressDeadlineSeconds", "Progress deadline (s)", "Time one appliance gets to become healthy", 10, 86400],
  ["soakSeconds", "Soak time (s)", "A wave must stay healthy this long before the next opens", 0, 86400],
  ["startsPerMinute", "Starts per minute", "Rate limit on appliances starting an update", 1, 10000],
];

const splitList = (s) =>
  s
    .split(/[\s,]+/)
    .map((x) => x.trim())
    .filter(Boolean);

function buildBody(form) {
  const target = {};
  if (form.channel) target.channel = form.channel;
  const tags = splitList(form.tags);
  if (tags.length) target.tags = tags;
  if (form.customerIds.length) target.customerIds = form.customerIds;
  const ids = splitList(form.applianceIds);
  if (ids.length) target.applianceIds = ids;
  const strategy = Object.fromEntries(
    Object.entries(form.strategy).map(([k, v]) => {
      const text = String(v).trim();
      return [k, k === "failureBudget" && text.endsWith("%") ? text : Number(text)];
    }),
  );
  return { releaseId: form.releaseId, target, strategy };
}

function WavePreview({ preview, names, error, loading }) {
  if (error)
    return html`<div class="error-box" role="alert" data-testid="preview-error"><strong>Preview:</strong> ${error.message}</div>`;
  if (!preview)
    return html`<p class="muted">${loading ? "Computing waves…" : "Choose a release to see the waves."}</p>`;
  return html`<div data-testid="wave-preview">
    <p><strong>${preview.total}</strong> appliance${preview.total === 1 ? "" : "s"} in <strong>${preview.waves.length}</strong> wave${preview.waves.length === 1 ? "" : "s"}.</p>
    <table class="table compact">
      <caption>Wave preview</caption>
      <thead><tr><th scope="col">Wave</th><th scope="col">Size</th><th scope="col">Failure budget</th><th scope="col">Appliances</th></tr></thead>
      <tbody>
        ${preview.waves.map(
          (w) => html`<tr key=${w.index}>
            <th scope="row">${w.canary ? `${w.index} · canary` : w.index}</th>
            <td>${w.size}</td>
            <td>${w.failureBudget ?? "—"}</td>
            <td>${(w.applianceIds ?? []).slice(0, 12).map((id) => {
              const a = names.get(id);
              return html`<span class="tag">${a?.name ?? id}${a?.status === "offline" ? html` <em>(offline: deferred until it returns)</em>` : ""}</span> `;
            })}${
              (w.applianceIds?.length ?? 0) > 12
                ? html`<span class="muted"> and ${w.applianceIds.length - 12} more</span>`
                : null
            }</td>
          </tr>`,
        )}
      </tbody>
    </table>
    ${
      preview.excluded?.length
        ? html`<details class="excluded">
            <summary>${preview.excluded.length} appliance${preview.excluded.length === 1 ? "" : "s"} left out</summary>
            <ul>${preview.excluded.map((x) => html`<li><strong>${x.applianceName}</strong>: ${x.reason}</li>`)}</ul>
          </details>`
        : null
    }
  </div>`;
}

export function RolloutNewPage({ me }) {
  const [opts, setOpts] = useState({ releases: [], channels: [], customers: [], appliances: [], error: undefined });
  const [form, setForm] = useState({
    name: "",
    releaseId: "",
    channel: "",
    tags: "",
    customerIds: [],
    applianceIds: "",
    strategy: { ...DEFAULT_STRATEGY },
  });
  const [preview, setPreview] = useState({ data: undefined, error: undefined, loading: false });
  const create = useAction();

  useEffect(() => {
    Promise.allSettled([
      listAll("/v1/releases"),
      listAll("/v1/channels"),
      listAll("/v1/customers"),
      listAll("/v1/fleet/appliances", { limit: 200 }, 5),
    ]).then(([rel, ch, cu, ap]) => {
      const releases = rel.status === "fulfilled" ? rel.value.filter((r) => r.state !== "yanked") : [];
      setOpts({
        releases,
        channels: ch.status === "fulfilled" ? ch.value : [],
        customers: cu.status === "fulfilled" ? cu.value : [],
        appliances: ap.status === "fulfilled" ? ap.value : [],
        error: rel.status === "rejected" ? rel.reason : undefined,
      });
      const first = releases[0];
      if (first)
        setForm((f) => (f.releaseId ? f : { ...f, releaseId: first.id, channel: f.channel || first.channel || "" }));
    });
  }, []);

  const body = buildBody(form);
  const bodyKey = useDebounced(JSON.stringify(body), 300);
  useEffect(() => {
    const b = JSON.parse(bodyKey);
    if (!b.releaseId) return;
    let live = true;
    setPreview((p) => ({ ...p, loading: true }));
    api("/v1/rollouts/preview", { method: "POST", body: b })
      .then((data) => live && setPreview({ data, error: undefined, loading: false }))
      .catch((error) => live && setPreview({ data: undefined, error, loading: false }));
    return () => {
      live = false;
    };
  }, [bodyKey]);

  const names = new Map(opts.appliances.map((a) => [a.id, a]));
  const set = (patch) => setForm((f) => ({ ...f, ...patch }));
  const setStrategy = (k, v) => setForm((f) => ({ ...f, strategy: { ...f.strategy, [k]: v } }));
  const release = opts.releases.find((r) => r.id === form.releaseId);

  const submit = async (e) => {
    e.preventDefault();
    const name =
      form.name.trim() ||
      `${release?.version ?? "release"} to ${form.channel || release?.channel || "selected appliances"}`;
    const payload = { ...buildBody(form), name };
    const created = await create.run(() => api("/v1/rollouts", { method: "POST", body: payload }), "Rollout started");
    if (created?.id) navigate(`/rollouts/${encodeURIComponent(created.id)}`);
  };

  if (!atLeast(me.role, "operator"))
    return html`<section class="page"><${PageTitle}>New rollout</${PageTitle}><p class="note">Your role (${me.role}) cannot start rollouts.</p></section>`;

  return html`<section class="page">
    <p class="crumbs"><${Link} href="/rollouts">Rollouts</${Link}> <span aria-hidden="true">›</span> New</p>
    <${PageTitle}>New rollout</${PageTitle}>
    <${ErrorBox} error=${opts.error} />
    <form class="rollout-form" onSubmit=${submit}>
      <fieldset class="card">
        <legend>What</legend>
        <div class="field">
          <label for="r-name">Name</label>
          <input id="r-name" type="text" value=${form.name} onInput=${(e) => set({ name: e.currentTarget.value })} data-search aria-describedby="r-name-help" />
          <span id="r-name-help" class="hint">Optional; defaults to the release and channel.</span>
        </div>
        <div class="field">
          <label for="r-release">Release</label>
          <select id="r-release" required value=${form.releaseId} onChange=${(e) => set({ releaseId: e.currentTarget.value })}>
            <option value="" disabled>Choose a release</option>
            ${opts.releases.map((r) => html`<option value=${r.id}>${r.version} · ${r.channel}${r.required ? " · required" : ""}</option>`)}
          </select>
          ${release?.notes ? html`<p class="hint">${release.notes}</p>` : null}
          ${opts.releases.length === 0 ? html`<p class="hint">No published release. <${Link} href="/releases">Publish one first</${Link}>.</p>` : null}
        </div>
      </fieldset>
      <fieldset class="card">
        <legend>Targets</legend>
        <p class="hint">Appliances matching every field you fill in.</p>
        <div class="field">
          <label for="r-channel">Channel</label>
          <select id="r-channel" value=${form.channel} onChange=${(e) => set({ channel: e.currentTarget.value })}>
            <option value="">Any channel</option>
            ${opts.channels.map((c) => html`<option value=${c.name}>${c.name}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="r-tags">Tags <span class="muted">(comma separated)</span></label>
          <input id="r-tags" type="text" value=${form.tags} onInput=${(e) => set({ tags: e.currentTarget.value })} />
        </div>
        <div class="field">
          <label for="r-customers">Customers</label>
          <select id="r-customers" multiple size=${Math.min(5, Math.max(2, opts.customers.length))}
            onChange=${(e) => set({ customerIds: [...e.currentTarget.selectedOptions].map((o) => o.value) })}>
            ${opts.customers.map((c) => html`<option value=${c.id} selected=${form.customerIds.includes(c.id)}>${c.name}</option>`)}
          </select>
        </div>
        <div class="field">
          <label for="r-appliances">Appliance ids <span class="muted">(comma or space separated)</span></label>
          <textarea id="r-appliances" rows="2" value=${form.applianceIds} onInput=${(e) => set({ applianceIds: e.currentTarget.value })}></textarea>
        </div>
      </fieldset>
      <fieldset class="card strategy">
        <legend>Strategy</legend>
        ${STRATEGY_FIELDS.map(
          ([k, label, help, min, max]) => html`<div class="field">
            <label for=${`s-${k}`}>${label}</label>
            <input id=${`s-${k}`} type=${min === undefined ? "text" : "number"} inputmode="numeric" min=${min} max=${max} value=${form.strategy[k]}
              aria-describedby=${`s-${k}-help`} onInput=${(e) => setStrategy(k, e.currentTarget.value)} />
            <span id=${`s-${k}-help`} class="hint">${help}</span>
          </div>`,
        )}
      </fieldset>
      <section class="card preview" aria-labelledby="preview-title" aria-live="polite" aria-busy=${preview.loading ? "true" : "false"}>
        <h2 id="preview-title">Waves</h2>
        <${WavePreview} preview=${preview.data} names=${names} error=${preview.error} loading=${preview.loading} />
      </section>
      <${ErrorBox} error=${create.error} />
      <div class="form-actions">
        <button class="btn btn-primary" type="submit" disabled=${create.busy || !form.releaseId || !preview.data?.total}>
          ${create.busy ? "Starting…" : "Start rollout"}
        </button>
        <${Link} class="btn" href="/rollouts">Cancel</${Link}>
      </div>
    </form>
  </section>`;
}
