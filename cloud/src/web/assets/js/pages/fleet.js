// The fleet: summary counts, filters kept in the URL, a live table of appliances with cursor paging.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, listAll } from "../api.js";
import {
  announce,
  Badge,
  ErrorBox,
  html,
  Link,
  PageTitle,
  setQuery,
  timeAgo,
  Updated,
  useDebounced,
  useLocation,
  useNow,
  usePoll,
} from "../lib.js";

const FILTER_KEYS = [
  "q",
  "status",
  "channel",
  "customerId",
  "tag",
  "version",
  "k8sVersion",
  "minVersionsBehind",
  "sort",
];
const PAGE_SIZE = 50;

const COLUMNS = [
  { key: "name", label: "Name", sort: "name" },
  { key: "customer", label: "Customer" },
  { key: "status", label: "Status" },
  { key: "lastSeen", label: "Last seen", sort: "lastSeen" },
  { key: "version", label: "Chart version", sort: "version" },
  { key: "channel", label: "Channel" },
  { key: "k8s", label: "Kubernetes" },
  { key: "tags", label: "Tags" },
];

function readFilters(search) {
  const sp = new URLSearchParams(search);
  return Object.fromEntries(FILTER_KEYS.map((k) => [k, sp.get(k) ?? ""]));
}

function Summary({ summary }) {
  if (!summary) return null;
  const cards = [
    ["total", "Appliances", summary.total],
    ["online", "Online", summary.online],
    ["degraded", "Degraded", summary.degraded],
    ["offline", "Offline", summary.offline],
  ];
  return html`<section class="summary" aria-label="Fleet summary">
    <ul class="cards">
      ${cards.map(
        ([k, label, n]) =>
          html`<li class=${`card stat stat-${k}`}>
            <span class="stat-n" data-testid=${`summary-${k}`}>${n ?? 0}</span>
            <span class="stat-label">${k === "total" ? label : html`<${Badge} status=${k} label=${label} />`}</span>
          </li>`,
      )}
      ${
        summary.byVersion?.length
          ? html`<li class="card stat versions">
              <span class="stat-label">By chart version</span>
              <ul class="version-list">
                ${summary.byVersion.map((v) => html`<li><code>${v.version ?? "not reported"}</code> <span>${v.count}</span></li>`)}
              </ul>
            </li>`
          : null
      }
    </ul>
  </section>`;
}

function Filters({ filters, onChange, channels, customers }) {
  const [q, setQ] = useState(filters.q);
  const debounced = useDebounced(q, 250);
  useEffect(() => {
    if (debounced !== filters.q) onChange({ q: debounced });
  }, [debounced]);
  useEffect(() => {
    if (filters.q !== debounced) setQ(filters.q);
  }, [filters.q]);

  const sel = (name, label, options, anyLabel) => html`<div class="field">
    <label for=${`f-${name}`}>${label}</label>
    <select id=${`f-${name}`} value=${filters[name]} onChange=${(e) => onChange({ [name]: e.currentTarget.value })}>
      <option value="">${anyLabel}</option>
      ${options.map(([v, l]) => html`<option value=${v}>${l}</option>`)}
    </select>
  </div>`;
  const text = (name, label, placeholder) => html`<div class="field">
    <label for=${`f-${name}`}>${label}</label>
    <input id=${`f-${name}`} type="text" value=${filters[name]} placeholder=${placeholder}
      onChange=${(e) => onChange({ [name]: e.currentTarget.value.trim() })} />
  </div>`;
  const active = FILTER_KEYS.some((k) => k !== "sort" && filters[k]);

  return html`<form class="filters" role="search" aria-label="Filter appliances" onSubmit=${(e) => e.preventDefault()}>
    <div class="field field-search">
      <label for="f-q">Search <kbd aria-hidden="true">/</kbd></label>
      <input id="f-q" type="search" data-search value=${q} placeholder="Name, id or customer"
        onInput=${(e) => setQ(e.currentTarget.value)} aria-keyshortcuts="/" />
    </div>
    ${sel(
      "status",
      "Status",
      [
        ["online", "Online"],
        ["degraded", "Degraded"],
        ["offline", "Offline"],
      ],
      "Any",
    )}
    ${sel(
      "channel",
      "Channel",
      channels.map((c) => [c.name, c.name]),
      "Any",
    )}
    ${sel(
      "customerId",
      "Customer",
      customers.map((c) => [c.id, c.name]),
      "Any",
    )}
    ${text("tag", "Customer tag", "e.g. eu")}
    ${text("version", "Chart version", "e.g. 1.4.2")}
    ${text("k8sVersion", "Kubernetes", "e.g. v1.31")}
    ${sel(
      "minVersionsBehind",
      "Behind",
      [
        ["1", "1 or more"],
        ["2", "2 or more"],
        ["5", "5 or more"],
      ],
      "Any",
    )}
    <div class="field field-actions">
      <button class="btn" type="button" disabled=${!active}
        onClick=${() => {
          setQ("");
          onChange(Object.fromEntries(FILTER_KEYS.filter((k) => k !== "sort").map((k) => [k, ""])));
        }}>Clear filters</button>
    </div>
  </form>`;
}

function SortHeader({ col, sort, onSort }) {
  if (!col.sort) return html`<th scope="col">${col.label}</th>`;
  const current = sort.replace(/^-/, "") === col.sort ? (sort.startsWith("-") ? "descending" : "ascending") : "none";
  const next = current === "ascending" ? `-${col.sort}` : col.sort;
  return html`<th scope="col" aria-sort=${current}>
    <button type="button" class="sort" onClick=${() => onSort(next)}>
      ${col.label}<span aria-hidden="true">${current === "ascending" ? " ▲" : current === "descending" ? " ▼" : " ↕"}</span>
      <span class="sr-only">, sort ${current === "ascending" ? "descending" : "ascending"}</span>
    </button>
  </th>`;
}

export function FleetPage() {
  const { search } = useLocation();
  const filters = readFilters(search);
  const [cursors, setCursors] = useState([undefined]);
  const cursor = cursors[cursors.length - 1];
  const filterKey = FILTER_KEYS.map((k) => filters[k]).join("|");
  const [options, setOptions] = useState({ channels: [], customers: [] });
  const previous = useRef(new Map());
  const now = useNow(5000);

  useEffect(() => {
    Promise.allSettled([listAll("/v1/channels"), listAll("/v1/customers")]).then(([ch, cu]) =>
      setOptions({
        channels: ch.status === "fulfilled" ? ch.value : [],
        customers: cu.status === "fulfilled" ? cu.value : [],
      }),
    );
  }, []);

  useEffect(() => setCursors([undefined]), [filterKey]);

  const list = usePoll(
    () =>
      api("/v1/fleet/appliances", { query: { ...filters, sort: filters.sort || "name", cursor, limit: PAGE_SIZE } }),
    [filterKey, cursor],
  );
  const summary = usePoll(() => api("/v1/fleet/summary"), []);

  // Announce status changes of appliances on screen (aria-live through announce()).
  useEffect(() => {
    const items = list.data?.items ?? [];
    const prev = previous.current;
    const changes = [];
    for (const a of items) {
      const before = prev.get(a.id);
      if (before && before !== a.status) changes.push(`${a.name} is now ${a.status}`);
      prev.set(a.id, a.status);
    }
    if (changes.length)
      announce(changes.slice(0, 3).join("; ") + (changes.length > 3 ? ` and ${changes.length - 3} more` : ""));
  }, [list.data]);

  const onChange = (patch) => setQuery({ ...filters, ...patch });
  const items = list.data?.items ?? [];
  const sort = filters.sort || "name";

  return html`<section class="page">
    <div class="page-head">
      <${PageTitle}>Fleet</${PageTitle}>
      <${Updated} ...${list} />
    </div>
    <${Summary} summary=${summary.data} />
    <${Filters} filters=${filters} onChange=${onChange} channels=${options.channels} customers=${options.customers} />
    <${ErrorBox} error=${list.error && !list.data ? list.error : undefined} />
    <div class="table-wrap">
      <table class="table" aria-busy=${list.loading ? "true" : "false"} data-testid="fleet-table">
        <caption>
          Appliances · ${items.length} shown${cursors.length > 1 ? ` (page ${cursors.length})` : ""}${
            FILTER_KEYS.some((k) => k !== "sort" && filters[k]) ? ", filtered" : ""
          }
        </caption>
        <thead>
          <tr>${COLUMNS.map((c) => html`<${SortHeader} col=${c} sort=${sort} onSort=${(s) => onChange({ sort: s })} />`)}</tr>
        </thead>
        <tbody>
          ${
            items.length === 0 && !list.loading
              ? html`<tr><td colspan=${COLUMNS.length} class="empty">No appliances match these filters.</td></tr>`
              : items.map(
                  (a) => html`<tr key=${a.id} data-status=${a.status}>
                    <th scope="row"><${Link} href=${`/appliances/${encodeURIComponent(a.id)}`}>${a.name}</${Link}></th>
                    <td>${a.customer?.name ?? "—"}</td>
                    <td><${Badge} status=${a.status} /></td>
                    <td><time datetime=${a.lastSeenAt ?? ""} title=${a.lastSeenAt ?? ""}>${timeAgo(a.lastSeenAt, now)}</time></td>
                    <td>
                      <code>${a.chartVersion ?? "—"}</code>
                      ${a.versionsBehind > 0 ? html` <span class="behind">${a.versionsBehind} behind</span>` : null}
                      ${a.pinnedReleaseId ? html` <span class="pill" title="Pinned to a release">pinned</span>` : null}
                    </td>
                    <td>${a.channel ?? "—"}</td>
                    <td>${a.kubernetesVersion ?? "—"}</td>
                    <td>${(a.tags ?? []).map((t) => html`<span class="tag">${t}</span> `)}</td>
                  </tr>`,
                )
          }
        </tbody>
      </table>
    </div>
    <nav class="pager" aria-label="Fleet pages">
      <button class="btn" type="button" disabled=${cursors.length <= 1} onClick=${() => setCursors(cursors.slice(0, -1))}>
        Previous page
      </button>
      <button class="btn" type="button" disabled=${!list.data?.nextCursor}
        onClick=${() => setCursors([...cursors, list.data.nextCursor])}>Next page</button>
    </nav>
  </section>`;
}
