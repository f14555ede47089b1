// HTTPS_PROXY / NO_PROXY support: a small http.Agent that opens a CONNECT tunnel through the proxy, then TLS
// (with the custom CA bundle) to the cloud. Hand-written to avoid a dependency for ~60 lines.
import { Agent, type AgentOptions, type ClientRequestArgs } from "node:http";
import { isIP, connect as netConnect, type Socket } from "node:net";
import type { Duplex } from "node:stream";
import { connect as tlsConnect } from "node:tls";

export interface ProxyAgentOptions {
  proxyUrl: string;
  /** PEM bundle trusted for the cloud (and for an https:// proxy) */
  ca?: string | Buffer | Array<string | Buffer>;
  /** the target speaks TLS (wss/https) */
  secure: boolean;
  connectTimeoutMs?: number;
}

type ConnOpts = { host?: string; hostname?: string; port?: number | string; servername?: string };

export class ConnectProxyAgent extends Agent {
  private readonly proxy: URL;
  private readonly ca?: string | Buffer | Array<string | Buffer>;
  private readonly secure: boolean;
  private readonly connectTimeoutMs: number;
  /** CONNECT tunnels opened (tests) */
  tunnels = 0;

  constructor(opts: ProxyAgentOptions, agentOptions: AgentOptions = {}) {
    super({ keepAlive: false, ...agentOptions });
    this.proxy = new URL(opts.proxyUrl);
    this.ca = opts.ca;
    this.secure = opts.secure;
    this.connectTimeoutMs = opts.connectTimeoutMs ?? 10_000;
    // https.request checks the agent's protocol; the TLS handshake happens in createConnection.
    (this as unknown as { protocol: string }).protocol = opts.secure ? "https:" : "http:";
  }

  // Node's Agent accepts an asynchronous createConnection that calls back with the socket.
  override createConnection(
    args: ClientRequestArgs,
    callback?: (err: Error | null, stream: Duplex) => void,
  ): Duplex | null | undefined {
    const options = args as ConnOpts;
    const cb = (err: Error | null, s?: Socket) => callback?.(err, s as Duplex);
    const host = options.hostname ?? options.host ?? "localhost";
    const port = Number(options.port ?? (this.secure ? 443 : 80));
    const proxyPort = Number(this.proxy.port || (this.proxy.protocol === "https:" ? 443 : 80));
    const proxyHost = this.proxy.hostname.replace(/^\[|\]$/g, "");
    const sock: Socket =
      this.proxy.protocol === "https:"
        ? tlsConnect({
            host: proxyHost,
            port: proxyPort,
            ca: this.ca,
            servername: isIP(proxyHost) ? undefined : proxyHost,
          })
        : netConnect({ host: proxyHost, port: proxyPort });
    let done = false;
    const finish = (err: Error | null, s?: Socket) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.removeAllListeners("data");
      if (err) {
        sock.destroy();
        cb(err);
      } else cb(null, s);
    };
    const timer = setTimeout(() => finish(new Error("proxy CONNECT timed out")), this.connectTimeoutMs);
    sock.once("error", (err) => finish(err));
    const target = `${host.includes(":") ? `[${host}]` : host}:${port}`;
    const auth = this.proxy.username
      ? `Proxy-Authorization: Basic ${Buffer.from(`${decodeURIComponent(this.proxy.username)}:${decodeURIComponent(this.proxy.password)}`).toString("base64")}\r\n`
      : "";
    sock.write(`CONNECT ${target} HTTP/1.1\r\nHost: ${target}\r\n${auth}\r\n`);
    let buf = Buffer.alloc(0);
    sock.on("data", (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) {
        if (buf.length > 16_384) finish(new Error("proxy answered with oversized headers"));
        return;
      }
      const status = /^HTTP\/1\.[01] (\d{3})/.exec(buf.subarray(0, end).toString("latin1"));
      if (status?.[1] !== "200") return finish(new Error(`proxy refused CONNECT: ${status?.[1] ?? "bad response"}`));
      this.tunnels++;
      if (!this.secure) return finish(null, sock);
      const tls = tlsConnect({
        socket: sock,
        ca: this.ca,
        servername: isIP(host) ? undefined : (options.servername ?? host),
      });
      tls.once("secureConnect", () => finish(null, tls));
      tls.once("error", (err) => finish(err));
    });
    return undefined;
  }
}

/** NO_PROXY: comma/space separated hosts, `.suffix` or `suffix` domains, `host:port`, IPv4 CIDRs, or `*`. */
export function bypassesProxy(target: URL, noProxy: string | undefined): boolean {
  if (!noProxy) return false;
  const host = target.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const port = target.port || (target.protocol === "https:" || target.protocol === "wss:" ? "443" : "80");
  for (const raw of noProxy.split(/[\s,]+/)) {
    const entry = raw.trim().toLowerCase();
    if (!entry) continue;
    if (entry === "*") return true;
    const [pattern, entryPort] = entry.includes("/") ? [entry, undefined] : splitPort(entry);
    if (entryPort && entryPort !== port) continue;
    if (pattern.includes("/")) {
      if (inCidr(host, pattern)) return true;
      continue;
    }
    const p = pattern.replace(/^\*?\./, "");
    if (host === p || host.endsWith(`.${p}`)) return true;
  }
  return false;
}

function splitPort(entry: string): [string, string | undefined] {
  const m = /^(.*?):(\d+)$/.exec(entry);
  return m && !entry.startsWith("[") && (m[1] ?? "").split(":").length === 1 ? [m[1]!, m[2]] : [entry, undefined];
}

function inCidr(host: string, cidr: string): boolean {
  const [net, bitsText] = cidr.split("/");
  if (isIP(host) !== 4 || isIP(net ?? "") !== 4) return false;
  const bits = Number(bitsText);
  const toInt = (ip: string) => ip.split(".").reduce((a, o) => (a << 8) + Number(o), 0) >>> 0;
  const mask = bits === 0 ? 0 : (~0 << (32 - bits)) >>> 0;
  return (toInt(host) & mask) === (toInt(net!) & mask);
}
