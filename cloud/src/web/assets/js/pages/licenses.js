// Licenses: list with state, issue a new one, suspend / reinstate / revoke, and show the signed token.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, listAll } from "../api.js";
import { atLeast, Badge, ErrorBox, fmtDate, html, PageTitle, Updated, useAction, usePoll } from "../lib.js";

const PAST = { suspend: "suspended", reinstate: "reinstated", revoke: "revoked" };
const inOneYear = () => new Date(Date.now() + 365 * 86400_000).toISOString().slice(0, 10);

function TokenDialog({ token, onClose }) {
  const ref = useRef(null);
  useEffect(() => {
    if (token) ref.current?.showModal();
    else ref.current?.close();
  }, [token]);
  return html`<dialog ref=${ref} class="dialog" aria-labelledby="token-title" onClose=${onClose}>
    <h2 id="token-title">License token</h2>
    <p class="hint">Give this to the customer for <code>install.sh --token</code> or the chart's <code>license.token</code>. It verifies offline.</p>
    <label for="token-text">Token</label>
    <textarea id="token-text" readonly rows="6" value=${token ?? ""} onFocus=${(e) => e.currentTarget.select()}></textarea>
    <form method="dialog" class="form-actions">
      <button class="btn" type="button" onClick=${() => navigator.clipboard?.writeText(token ?? "")}>Copy</button>
      <button class="btn btn-primary">Close</button>
    </form>
  </dialog>`;
}

export function LicensesPage({ me }) {
  const list = usePoll(() => listAll("/v1/licenses", { limit: 200 }, 5), [], 10000);
  const [customers, setCustomers] = useState([]);
  const [token, setToken] = useState(undefined);
  const [form, setForm] = useState({
    customerId: "",
    expiresAt: inOneYear(),
    maxWorkerNodes: 3,
    updateChannel: "stable",
    notes: "",
  });
  const act = useAction();
  const canManage = atLeast(me.role, "operator");

  useEffect(() => {
    listAll("/v1/customers").then(setCustomers, () => setCustomers([]));
  }, []);
  const customerName = new Map(customers.map((c) => [c.id, c.name]));

  const change = async (lic, verb) => {
    let body = {};
    if (verb !== "reinstate") {
      const reason = window.prompt(`Reason to ${verb} this license (recorded in the audit log):`, "");
      if (reason === null) return;
      body = reason.trim() ? { reason: reason.trim() } : {};
    }
    const ok = await act.run(
      () => api(`/v1/licenses/${encodeURIComponent(lic.id)}/${verb}`, { method: "POST", body }),
      `License ${PAST[verb]}`,
    );
    if (ok !== undefined) list.refresh();
  };
  const showToken = async (lic) => {
    const r = await act.run(() => api(`/v1/licenses/${encodeURIComponent(lic.id)}/token`));
    if (r) setToken(r.token ?? (typeof r === "string" ? r : JSON.stringify(r)));
  };
  const submit = async (e) => {
    e.preventDefault();
    const body = {
      customerId: form.customerId,
      expiresAt: new Date(`${form.expiresAt}T23:59:59Z`).toISOString(),
      entitlements: { maxWorkerNodes: Number(form.maxWorkerNodes), updateChannel: form.updateChannel },
      ...(form.notes.trim() ? { notes: form.notes.trim() } : {}),
    };
    const created = await act.run(() => api("/v1/licenses", { method: "POST", body }), "License issued");
    if (created) {
      list.refresh();
      if (created.token) setToken(created.token);
    }
  };
  const items = list.data ?? [];

  return html`<section class="page">
    <div class="page-head"><${PageTitle}>Licenses</${PageTitle}><${Updated} ...${list} /></div>
    ${
      canManage
        ? html`<form class="card inline-form wrap" onSubmit=${submit} aria-labelledby="new-license">
            <h2 id="new-license" class="form-title">Issue a license</h2>
            <div class="field"><label for="l-customer">Customer</label>
              <select id="l-customer" required value=${form.customerId} onChange=${(e) => setForm({ ...form, customerId: e.currentTarget.value })}>
                <option value="" disabled>Choose a customer</option>
                ${customers.map((c) => html`<option value=${c.id}>${c.name}</option>`)}
              </select></div>
            <div class="field"><label for="l-expires">Expires on</label>
              <input id="l-expires" type="date" required value=${form.expiresAt} onInput=${(e) => setForm({ ...form, expiresAt: e.currentTarget.value })} /></div>
            <div class="field"><label for="l-workers">Max worker nodes</label>
              <input id="l-workers" type="number" min="0" value=${form.maxWorkerNodes} onInput=${(e) => setForm({ ...form, maxWorkerNodes: e.currentTarget.value })} /></div>
            <div class="field"><label for="l-channel">Update channel</label>
              <input id="l-channel" pattern="[a-z0-9][a-z0-9\\-]{0,39}" value=${form.updateChannel} onInput=${(e) => setForm({ ...form, updateChannel: e.currentTarget.value })} /></div>
            <div class="field"><label for="l-notes">Notes</label>
              <input id="l-notes" value=${form.notes} onInput=${(e) => setForm({ ...form, notes: e.currentTarget.value })} /></div>
            <button class="btn btn-primary" type="submit" disabled=${act.busy || !form.customerId}>Issue license</button>
          </form>`
        : null
    }
    <${ErrorBox} error=${act.error ?? (list.data ? undefined : list.error)} />
    <table class="table" data-testid="licenses-table">
      <caption>Licenses</caption>
      <thead><tr><th scope="col">License</th><th scope="col">Customer</th><th scope="col">State</th><th scope="col">Entitlements</th><th scope="col">Expires</th><th scope="col">Actions</th></tr></thead>
      <tbody>
        ${
          items.length === 0 && list.data
            ? html`<tr><td colspan="6" class="empty">No licenses yet.</td></tr>`
            : items.map((l) => {
                const expired = l.expiresAt && Date.parse(l.expiresAt) < Date.now();
                const name = l.customer?.name ?? customerName.get(l.customerId) ?? l.customerId;
                return html`<tr key=${l.id}>
                  <th scope="row"><code>${l.id}</code>${l.notes ? html`<div class="hint">${l.notes}</div>` : null}</th>
                  <td>${name}</td>
                  <td><${Badge} status=${expired && l.state === "active" ? "expired" : l.state} />${l.stateReason ? html`<div class="hint">${l.stateReason}</div>` : null}</td>
                  <td>${l.entitlements ? `${l.entitlements.maxWorkerNodes} workers · ${l.entitlements.updateChannel}` : "—"}</td>
                  <td>${fmtDate(l.expiresAt)}</td>
                  <td><div class="row-actions">
                    ${
                      canManage
                        ? html`
                          <button class="btn btn-small" type="button" onClick=${() => showToken(l)} disabled=${l.state !== "active"}
                            aria-label=${`Show token of license ${l.id}`}>Token</button>
                          ${l.state === "active" ? html`<button class="btn btn-small" type="button" onClick=${() => change(l, "suspend")} aria-label=${`Suspend license ${l.id}`}>Suspend</button>` : null}
                          ${l.state === "suspended" ? html`<button class="btn btn-small" type="button" onClick=${() => change(l, "reinstate")} aria-label=${`Reinstate license ${l.id}`}>Reinstate</button>` : null}
                          ${l.state !== "revoked" ? html`<button class="btn btn-small btn-danger" type="button" onClick=${() => change(l, "revoke")} aria-label=${`Revoke license ${l.id}`}>Revoke</button>` : null}`
                        : null
                    }
                  </div></td>
                </tr>`;
              })
        }
      </tbody>
    </table>
    <${TokenDialog} token=${token} onClose=${() => setToken(undefined)} />
  </section>`;
}
