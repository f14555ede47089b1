// Time-series chart on uPlot (canvas), with a text summary and a data table for people who cannot see it.
import { useEffect, useRef } from "preact/hooks";
import uPlot from "uplot";
import { html } from "./lib.js";

const PALETTE = ["#2563eb", "#d97706", "#059669", "#dc2626", "#7c3aed", "#0891b2"];

function fmt(v, unit) {
  if (v === null || v === undefined || Number.isNaN(v)) return "—";
  const n = Math.abs(v) >= 100 ? Math.round(v) : Math.round(v * 100) / 100;
  return unit ? `${n} ${unit}` : String(n);
}

/**
 * series: [{ label, points: [{ t: epochMs, v: number }] }] — merged onto one time axis.
 */
export function TimeChart({ title, series, unit, height = 200 }) {
  const box = useRef(null);
  const plot = useRef(null);

  const times = [...new Set(series.flatMap((s) => s.points.map((p) => Math.floor(p.t / 1000))))].sort((a, b) => a - b);
  const columns = series.map((s) => {
    const byT = new Map(s.points.map((p) => [Math.floor(p.t / 1000), p.v]));
    return times.map((t) => byT.get(t) ?? null);
  });
  const data = [times, ...columns];
  const shape = series.map((s) => s.label).join("|");

  useEffect(() => {
    const el = box.current;
    if (!el) return;
    const opts = {
      width: Math.max(280, el.clientWidth),
      height,
      cursor: { drag: { x: true, y: false } },
      legend: { show: true },
      scales: { x: { time: true } },
      axes: [
        { stroke: "currentColor", grid: { stroke: "rgba(127,127,127,0.15)" } },
        {
          stroke: "currentColor",
          grid: { stroke: "rgba(127,127,127,0.15)" },
          size: 56,
          values: (_u, vals) => vals.map((v) => fmt(v, "")),
        },
      ],
      series: [
        { label: "time" },
        ...series.map((s, i) => ({
          label: s.label,
          stroke: PALETTE[i % PALETTE.length],
          width: 2,
          dash: i % 2 === 1 ? [6, 3] : undefined,
          points: { show: times.length < 40 },
          value: (_u, v) => fmt(v, unit),
        })),
      ],
    };
    plot.current = new uPlot(opts, data, el);
    const ro = new ResizeObserver(() => {
      plot.current?.setSize({ width: Math.max(280, el.clientWidth), height });
    });
    ro.observe(el);
    return () => {
      ro.disconnect();
      plot.current?.destroy();
      plot.current = null;
    };
  }, [shape, height]);

  useEffect(() => {
    plot.current?.setData(data);
  });

  const latest = series.map((s) => `${s.label}: ${fmt(s.points.at(-1)?.v, unit)}`).join(", ");
  return html`<figure class="chart card">
    <figcaption><strong>${title}</strong> <span class="muted">latest ${latest || "—"}</span></figcaption>
    ${times.length === 0 ? html`<p class="muted empty-chart">No samples yet.</p>` : null}
    <div ref=${box} class="chart-box" role="img" aria-label=${`${title}. ${times.length} samples. Latest ${latest}.`}></div>
    <details class="chart-data">
      <summary>Show data as a table</summary>
      <table class="table compact">
        <caption class="sr-only">${title}</caption>
        <thead><tr><th scope="col">Time</th>${series.map((s) => html`<th scope="col">${s.label}</th>`)}</tr></thead>
        <tbody>
          ${times.slice(-30).map(
            (t, i, arr) => html`<tr>
              <th scope="row">${new Date(t * 1000).toLocaleTimeString()}</th>
              ${columns.map((col) => html`<td>${fmt(col[times.length - arr.length + i], unit)}</td>`)}
            </tr>`,
          )}
        </tbody>
      </table>
    </details>
  </figure>`;
}

/**
 * Turns the telemetry response into chart groups, whatever of the likely shapes it has:
 * { series: [{ name, labels?, points: [{ at, value }] }] } or { items|samples: [{ name, at, value, labels? }] }.
 */
export function telemetryToGroups(body) {
  const byName = new Map();
  const add = (name, labels, at, value) => {
    const label = labels && Object.keys(labels).length ? Object.values(labels).join("/") : name;
    if (!byName.has(name)) byName.set(name, new Map());
    const m = byName.get(name);
    if (!m.has(label)) m.set(label, []);
    const t = typeof at === "number" ? at : Date.parse(at);
    if (!Number.isNaN(t) && typeof value === "number") m.get(label).push({ t, v: value });
  };
  if (Array.isArray(body?.series)) {
    for (const s of body.series) {
      for (const p of s.points ?? s.samples ?? []) {
        if (Array.isArray(p)) add(s.name, s.labels, p[0], p[1]);
        else add(s.name, s.labels, p.at ?? p.t, p.value ?? p.v);
      }
    }
  }
  for (const s of body?.items ?? body?.samples ?? body?.metrics ?? []) {
    if (s && typeof s === "object" && "value" in s) add(s.name, s.labels, s.at, s.value);
  }
  return [...byName.entries()].map(([name, m]) => ({
    name,
    series: [...m.entries()].map(([label, points]) => ({ label, points: points.sort((a, b) => a.t - b.t) })),
  }));
}

/** Charts worth a place on the appliance page, in this order; other numeric metrics follow generically. */
const CURATED = [
  {
    title: "Exchanges per second",
    parts: [
      ["camel.exchangesTotal", "completed"],
      ["camel.exchangesFailedTotal", "failed"],
    ],
    rate: true,
    unit: "/s",
  },
  { title: "In-flight exchanges", parts: [["camel.exchangesInflight", "in flight"]] },
  { title: "Memory used", parts: [["node.memoryUsedBytes", "memory"]], scale: 1 / 1048576, unit: "MiB" },
  { title: "Routes running", parts: [["camel.routesRunning", "routes"]] },
];
/** Facts that change rarely: not charted. */
const HIDDEN = /(uptime|revision|cpuCores|generation)/i;

function toRate(points) {
  const out = [];
  for (let i = 1; i < points.length; i++) {
    const dt = (points[i].t - points[i - 1].t) / 1000;
    const dv = points[i].v - points[i - 1].v;
    // A counter that went down was reset (pod restart): skip that interval rather than plot a negative rate.
    if (dt > 0 && dv >= 0) out.push({ t: points[i].t, v: dv / dt });
  }
  return out;
}

/** Chart definitions ({ title, unit, series }) from the metric samples of GET /v1/appliances/:id/metrics. */
export function applianceCharts(body, max = 6) {
  const groups = new Map(telemetryToGroups(body).map((g) => [g.name, g]));
  const charts = [];
  const used = new Set();
  for (const c of CURATED) {
    const series = [];
    for (const [name, label] of c.parts) {
      const g = groups.get(name);
      if (!g) continue;
      used.add(name);
      let points = g.series[0]?.points ?? [];
      if (c.rate) points = toRate(points);
      if (c.scale) points = points.map((p) => ({ t: p.t, v: p.v * c.scale }));
      series.push({ label, points });
    }
    if (series.length) charts.push({ title: c.title, unit: c.unit ?? "", series });
  }
  for (const [name, g] of groups) {
    if (used.has(name) || HIDDEN.test(name) || charts.length >= max) continue;
    const rate = /total$/i.test(name);
    charts.push({
      title: rate ? `${name} per second` : name,
      unit: rate ? "/s" : "",
      series: g.series.map((s) => ({ label: s.label, points: rate ? toRate(s.points) : s.points })),
    });
  }
  return charts.slice(0, max);
}
