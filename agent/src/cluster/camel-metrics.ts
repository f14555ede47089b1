// Camel figures from Prometheus text (a runtime's /observe/metrics) or from VictoriaMetrics' query API.

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface CamelFigures {
  exchangesTotal: number;
  exchangesFailed: number;
  exchangesInflight: number;
  routesRunning: number;
}

/** Parses the Prometheus text exposition format (0.0.4); comments, HELP/TYPE lines and timestamps are skipped. */
export function parsePrometheusText(text: string): PromSample[] {
  const out: PromSample[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (!line || line.startsWith("#")) continue;
    let i = 0;
    while (i < line.length && /[a-zA-Z0-9_:]/.test(line[i]!)) i++;
    const name = line.slice(0, i);
    if (!name) continue;
    const labels: Record<string, string> = {};
    if (line[i] === "{") {
      i++;
      for (;;) {
        while (line[i] === " " || line[i] === ",") i++;
        if (line[i] === "}") {
          i++;
          break;
        }
        const eq = line.indexOf("=", i);
        if (eq < 0) break;
        const key = line.slice(i, eq).trim();
        i = eq + 1;
        if (line[i] !== '"') break;
        i++;
        let val = "";
        while (i < line.length && line[i] !== '"') {
          if (line[i] === "\\" && i + 1 < line.length) {
            const n = line[i + 1]!;
            val += n === "n" ? "\n" : n;
            i += 2;
          } else val += line[i++];
        }
        i++;
        labels[key] = val;
      }
    }
    const rest = line.slice(i).trim().split(/\s+/);
    const v = parseValue(rest[0] ?? "");
    if (v === undefined) continue;
    out.push({ name, labels, value: v });
  }
  return out;
}

function parseValue(s: string): number | undefined {
  if (s === "+Inf") return Number.POSITIVE_INFINITY;
  if (s === "-Inf") return Number.NEGATIVE_INFINITY;
  if (s === "NaN") return Number.NaN;
  const n = Number(s);
  return s === "" || Number.isNaN(n) ? undefined : n;
}

// Camel's Micrometer names differ slightly across versions and exporters; accept the common spellings.
const NAMES: Record<keyof CamelFigures, string[]> = {
  exchangesTotal: ["camel_exchanges_total", "camel_exchanges_total_total"],
  exchangesFailed: ["camel_exchanges_failed_total", "camel_exchanges_failed_total_total"],
  exchangesInflight: ["camel_exchanges_inflight", "camel_exchanges_inflight_exchanges"],
  routesRunning: ["camel_routes_running", "camel_routes_running_routes"],
};

/**
 * Sums the Camel figures of one runtime. Exchange counters exist per route (label routeId) and sometimes also as
 * a context-wide series without a routeId: prefer the context-wide one so nothing counts twice.
 */
export function camelFigures(samples: PromSample[]): CamelFigures {
  const pick = (names: string[]) => {
    const series = samples.filter((s) => names.includes(s.name) && Number.isFinite(s.value));
    if (series.length === 0) return 0;
    const contextWide = series.filter((s) => !("routeId" in s.labels));
    const use = contextWide.length > 0 ? contextWide : series;
    return use.reduce((a, s) => a + s.value, 0);
  };
  return {
    exchangesTotal: pick(NAMES.exchangesTotal),
    exchangesFailed: pick(NAMES.exchangesFailed),
    exchangesInflight: pick(NAMES.exchangesInflight),
    routesRunning: pick(NAMES.routesRunning),
  };
}

export function addFigures(a: CamelFigures, b: CamelFigures): CamelFigures {
  return {
    exchangesTotal: a.exchangesTotal + b.exchangesTotal,
    exchangesFailed: a.exchangesFailed + b.exchangesFailed,
    exchangesInflight: a.exchangesInflight + b.exchangesInflight,
    routesRunning: a.routesRunning + b.routesRunning,
  };
}

/** PromQL per figure, grouped by the integration label the chart puts on every pod (scraped as `integration`). */
export const VM_QUERIES: Record<keyof CamelFigures, string> = {
  exchangesTotal: "sum by (integration) (camel_exchanges_total)",
  exchangesFailed: "sum by (integration) (camel_exchanges_failed_total)",
  exchangesInflight: "sum by (integration) (camel_exchanges_inflight)",
  routesRunning: "sum by (integration) (camel_routes_running)",
};

/** Reads the per-integration figures from VictoriaMetrics' Prometheus-compatible /api/v1/query. */
export async function figuresFromVictoriaMetrics(
  baseUrl: string,
  fetchFn: typeof fetch,
  signal: AbortSignal,
): Promise<Record<string, CamelFigures>> {
  const out: Record<string, CamelFigures> = {};
  for (const [key, q] of Object.entries(VM_QUERIES) as Array<[keyof CamelFigures, string]>) {
    const url = `${baseUrl.replace(/\/+$/, "")}/api/v1/query?query=${encodeURIComponent(q)}`;
    const res = await fetchFn(url, { signal });
    if (!res.ok) throw new Error(`VictoriaMetrics query failed: HTTP ${res.status}`);
    const body = (await res.json()) as {
      data?: { result?: Array<{ metric?: Record<string, string>; value?: [number, string] }> };
    };
    for (const r of body.data?.result ?? []) {
      const name = r.metric?.integration ?? "unknown";
      out[name] ??= { exchangesTotal: 0, exchangesFailed: 0, exchangesInflight: 0, routesRunning: 0 };
      out[name][key] = Number(r.value?.[1] ?? 0);
    }
  }
  return out;
}
