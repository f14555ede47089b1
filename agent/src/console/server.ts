// The agent's small HTTP servers: probes and metrics (/healthz, /readyz, /linkz, /metrics) on the agent port,
// and the local admin console (basic auth, read-only status page and JSON) on the console port.
import { timingSafeEqual } from "node:crypto";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

/** What the servers read; the agent core and the cluster fill it in (no dependency on either). */
export interface ConsoleSource {
  /** process is up and its loop turns */
  healthy(): boolean;
  /** ready to serve: configuration loaded, Kubernetes reachable once */
  ready(): Promise<boolean> | boolean;
  /** the tunnel is live */
  linked(): boolean;
  /** numbers for /metrics: name -> value (gauges and counters), help text optional */
  metrics(): Record<string, { value: number; help?: string; type?: "gauge" | "counter" }>;
  /** the console's status document (integration health, versions, update and license status) */
  status(): Promise<Record<string, unknown>> | Record<string, unknown>;
}

export function prometheusText(m: ReturnType<ConsoleSource["metrics"]>): string {
  let out = "";
  for (const [name, { value, help, type }] of Object.entries(m)) {
    const n = name.replace(/[^a-zA-Z0-9_:]/g, "_");
    if (help) out += `# HELP ${n} ${help.replace(/\n/g, " ")}\n`;
    out += `# TYPE ${n} ${type ?? "gauge"}\n${n} ${Number.isFinite(value) ? value : 0}\n`;
  }
  return out;
}

export function processMetrics(): ReturnType<ConsoleSource["metrics"]> {
  const mem = process.memoryUsage();
  return {
    process_resident_memory_bytes: { value: mem.rss, help: "Resident memory size in bytes." },
    nodejs_heap_used_bytes: { value: mem.heapUsed, help: "V8 heap used in bytes." },
    process_uptime_seconds: { value: Math.round(process.uptime()), help: "Seconds since the agent started." },
  };
}

const send = (res: ServerResponse, status: number, body: string, type = "text/plain; charset=utf-8") => {
  res.writeHead(status, {
    "content-type": type,
    "cache-control": "no-store",
    "x-content-type-options": "nosniff",
  });
  res.end(body);
};

export function createProbeHandler(src: ConsoleSource) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== "GET") return send(res, 405, "method not allowed\n");
    const path = (req.url ?? "/").split("?")[0];
    try {
      switch (path) {
        case "/healthz":
          return src.healthy() ? send(res, 200, "ok\n") : send(res, 503, "unhealthy\n");
        case "/readyz":
          return (await src.ready()) ? send(res, 200, "ok\n") : send(res, 503, "not ready\n");
        case "/linkz":
          // JSON for runner-ctl status; the status code alone for probes and `helm test`
          return src.linked()
            ? send(res, 200, '{"connected":true,"state":"connected"}\n', "application/json")
            : send(res, 503, '{"connected":false,"state":"disconnected"}\n', "application/json");
        case "/metrics":
          return send(res, 200, prometheusText({ ...processMetrics(), ...src.metrics() }), "text/plain; version=0.0.4");
        default:
          return send(res, 404, "not found\n");
      }
    } catch {
      return send(res, 500, "error\n");
    }
  };
}

const eq = (a: string, b: string) => {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
};

export function createConsoleHandler(src: ConsoleSource, auth: { username: string; password: string }) {
  return async (req: IncomingMessage, res: ServerResponse) => {
    const header = req.headers.authorization ?? "";
    const m = /^Basic (.+)$/i.exec(header);
    const [user, ...rest] = m ? Buffer.from(m[1]!, "base64").toString("utf8").split(":") : [];
    if (!auth.password || !user || !eq(user, auth.username) || !eq(rest.join(":"), auth.password)) {
      res.setHeader("www-authenticate", 'Basic realm="camel-ops console", charset="UTF-8"');
      return send(res, 401, "authentication required\n");
    }
    if (req.method !== "GET") return send(res, 405, "method not allowed\n");
    const path = (req.url ?? "/").split("?")[0];
    const status = await src.status();
    if (path === "/api/status") return send(res, 200, JSON.stringify(status), "application/json");
    if (path === "/") {
      res.setHeader("content-security-policy", "default-src 'none'; style-src 'unsafe-inline'");
      return send(res, 200, renderStatus(status), "text/html; charset=utf-8");
    }
    return send(res, 404, "not found\n");
  };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

function renderStatus(status: Record<string, unknown>): string {
  const rows = Object.entries(status)
    .map(([k, v]) => `<tr><th>${esc(k)}</th><td><pre>${esc(JSON.stringify(v, null, 2))}</pre></td></tr>`)
    .join("");
  return `<!doctype html><html><head><meta charset="utf-8"><title>Camel Ops appliance</title>
<style>body{font:14px system-ui;margin:2rem}th{text-align:left;vertical-align:top;padding-right:1rem}pre{margin:0}</style>
</head><body><h1>Camel Ops appliance</h1><table>${rows}</table></body></html>`;
}

export async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
  port: number,
  host = "0.0.0.0",
) {
  const server: Server = createServer((req, res) => void handler(req, res));
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => resolve());
  });
  return {
    server,
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
