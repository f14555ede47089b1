// Customers: the list, and a form to add one (operators and admins).
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { atLeast, ErrorBox, fmtDate, html, PageTitle, Updated, useAction, usePoll } from "../lib.js";

export function CustomersPage({ me }) {
  const [cursors, setCursors] = useState([undefined]);
  const cursor = cursors[cursors.length - 1];
  const list = usePoll(() => api("/v1/customers", { query: { cursor, limit: 50 } }), [cursor], 10000);
  const [form, setForm] = useState({ name: "", contactEmail: "", tags: "" });
  const act = useAction();
  const canEdit = atLeast(me.role, "operator");
  const items = list.data?.items ?? [];

  const submit = async (e) => {
    e.preventDefault();
    const body = { name: form.name.trim() };
    if (form.contactEmail.trim()) body.contactEmail = form.contactEmail.trim();
    const tags = form.tags
      .split(",")
      .map((t) => t.trim())
      .filter(Boolean);
    if (tags.length) body.tags = tags;
    const created = await act.run(
      () => api("/v1/customers", { method: "POST", body }),
      `Customer ${body.name} created`,
    );
    if (created) {
      setForm({ name: "", contactEmail: "", tags: "" });
      setCursors([undefined]);
      list.refresh();
    }
  };

  return html`<section class="page">
    <div class="page-head"><${PageTitle}>Customers</${PageTitle}><${Updated} ...${list} /></div>
    ${
      canEdit
        ? html`<form class="card inline-form wrap" onSubmit=${submit} aria-labelledby="new-customer">
            <h2 id="new-customer" class="form-title">Add a customer</h2>
            <div class="field"><label for="c-name">Name</label>
              <input id="c-name" required value=${form.name} onInput=${(e) => setForm({ ...form, name: e.currentTarget.value })} /></div>
            <div class="field"><label for="c-email">Contact e-mail</label>
              <input id="c-email" type="email" value=${form.contactEmail} onInput=${(e) => setForm({ ...form, contactEmail: e.currentTarget.value })} /></div>
            <div class="field"><label for="c-tags">Tags <span class="muted">(comma separated)</span></label>
              <input id="c-tags" value=${form.tags} onInput=${(e) => setForm({ ...form, tags: e.currentTarget.value })} /></div>
            <button class="btn btn-primary" type="submit" disabled=${act.busy || !form.name.trim()}>Add customer</button>
          </form>`
        : null
    }
    <${ErrorBox} error=${act.error ?? (list.data ? undefined : list.error)} />
    <table class="table" data-testid="customers-table">
      <caption>Customers · newest first</caption>
      <thead><tr><th scope="col">Name</th><th scope="col">Contact</th><th scope="col">Tags</th><th scope="col">Maintenance window</th><th scope="col">Created</th></tr></thead>
      <tbody>
        ${
          items.length === 0 && list.data
            ? html`<tr><td colspan="5" class="empty">No customers yet.</td></tr>`
            : items.map(
                (c) => html`<tr key=${c.id}>
                  <th scope="row">${c.name}</th>
                  <td>${c.contactEmail ? html`<a href=${`mailto:${c.contactEmail}`}>${c.contactEmail}</a>` : "—"}</td>
                  <td>${(c.tags ?? []).map((t) => html`<span class="tag">${t}</span> `)}</td>
                  <td>${c.maintenanceWindow ? `${c.maintenanceWindow.cron} (${c.maintenanceWindow.timeZone}, ${c.maintenanceWindow.durationMinutes} min)` : "any time"}</td>
                  <td>${fmtDate(c.createdAt)}</td>
                </tr>`,
              )
        }
      </tbody>
    </table>
    <nav class="pager" aria-label="Customer pages">
      <button class="btn" type="button" disabled=${cursors.length <= 1} onClick=${() => setCursors(cursors.slice(0, -1))}>Previous page</button>
      <button class="btn" type="button" disabled=${!list.data?.nextCursor} onClick=${() => setCursors([...cursors, list.data.nextCursor])}>Next page</button>
    </nav>
  </section>`;
}
