// The agent behind an enterprise network: an HTTPS_PROXY (CONNECT) and a TLS endpoint signed by a private CA.
// A loopback CONNECT proxy and a loopback TLS terminator in front of a real cloud; real sockets throughout.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer as createHttpServer, type Server } from "node:http";
import { type AddressInfo, connect, type Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createServer as createTlsServer } from "node:tls";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { bypassesProxy } from "../../agent/src/proxy.ts";
import { pgliteKind, type TestDatabase } from "../support/db.ts";
import { eventually, issueLicense, makeAgent, startTunnelCloud, type TunnelCloud } from "./harness.ts";

function makeCert() {
  const dir = mkdtempSync(join(tmpdir(), "camelops-ca-"));
  execFileSync(
    "openssl",
    [
      "req",
      "-x509",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-days",
      "1",
      "-subj",
      "/CN=localhost",
      "-addext",
      "subjectAltName=DNS:localhost,IP:127.0.0.1",
      "-keyout",
      join(dir, "key.pem"),
      "-out",
      join(dir, "cert.pem"),
    ],
    { stdio: "ignore" },
  );
  return { key: readFileSync(join(dir, "key.pem")), cert: readFileSync(join(dir, "cert.pem")) };
}

describe("agent through a CONNECT proxy to a TLS endpoint with a private CA", () => {
  let database: TestDatabase;
  let tc: TunnelCloud;
  let tlsPort = 0;
  let proxyPort = 0;
  const connects: string[] = [];
  let proxy: Server;
  let tlsServer: ReturnType<typeof createTlsServer>;
  const sockets = new Set<Socket>();
  const pem = makeCert();

  beforeAll(async () => {
    database = await pgliteKind.open();
    let upstream = 0;
    // TLS terminator (the "load balancer" with a certificate from the customer's private CA).
    tlsServer = createTlsServer({ key: pem.key, cert: pem.cert }, (client) => {
      const up = connect(upstream, "127.0.0.1");
      sockets.add(client).add(up);
      client.pipe(up).pipe(client);
      client.on("error", () => up.destroy());
      up.on("error", () => client.destroy());
    });
    await new Promise<void>((r) => tlsServer.listen(0, "127.0.0.1", r));
    tlsPort = (tlsServer.address() as AddressInfo).port;
    tc = await startTunnelCloud({ database, publicUrl: `https://localhost:${tlsPort}` });
    upstream = tc.port;
    // The CONNECT proxy.
    proxy = createHttpServer((_req, res) => res.writeHead(405).end());
    proxy.on("connect", (req, client: Socket, head) => {
      connects.push(req.url ?? "");
      const [host, port] = (req.url ?? "").split(":");
      const up = connect(Number(port), host === "localhost" ? "127.0.0.1" : host!, () => {
        client.write("HTTP/1.1 200 Connection Established\r\n\r\n");
        up.write(head);
        up.pipe(client).pipe(up);
      });
      sockets.add(client).add(up);
      up.on("error", () => client.destroy());
      client.on("error", () => up.destroy());
    });
    await new Promise<void>((r) => proxy.listen(0, "127.0.0.1", r));
    proxyPort = (proxy.address() as AddressInfo).port;
  });
  afterAll(async () => {
    for (const s of sockets) s.destroy();
    proxy?.close();
    tlsServer?.close();
    await tc?.stop();
    await database?.close();
  });

  it("enrolls and connects through the proxy, trusting the CA bundle", async () => {
    const { token } = await issueLicense(tc);
    const a = makeAgent(`https://localhost:${tlsPort}`, token, {
      proxyUrl: `http://127.0.0.1:${proxyPort}`,
      noProxy: "example.com,10.0.0.0/8",
      ca: pem.cert,
    });
    await a.agent.start();
    try {
      await a.agent.whenConnected(15_000);
      expect(connects.filter((c) => c === `localhost:${tlsPort}`).length).toBeGreaterThanOrEqual(2); // enroll + tunnel
      const cmd = await tc.api("POST", `/v1/appliances/${a.applianceId()}/commands`, {
        type: "echo",
        args: { via: "proxy" },
      });
      await eventually(async () => (await tc.api("GET", `/v1/commands/${cmd.id}`)).status === "succeeded");
    } finally {
      await a.agent.stop();
    }
  });

  it("refuses the endpoint without the CA bundle, and NO_PROXY bypasses the proxy", async () => {
    const { token } = await issueLicense(tc);
    const untrusting = makeAgent(`https://localhost:${tlsPort}`, token, { proxyUrl: `http://127.0.0.1:${proxyPort}` });
    await untrusting.agent.start();
    await eventually(() => untrusting.agent.status().lastRefusal, 10_000, "a refusal");
    expect(untrusting.agent.status().lastRefusal?.reason).toMatch(/certificate/i);
    expect(untrusting.agent.status().phase).not.toBe("connected");
    await untrusting.agent.stop();

    const before = connects.length;
    const direct = makeAgent(`https://localhost:${tlsPort}`, token, {
      proxyUrl: `http://127.0.0.1:${proxyPort}`,
      noProxy: "localhost",
      ca: pem.cert,
    });
    await direct.agent.start();
    try {
      await direct.agent.whenConnected(15_000);
      expect(connects.length).toBe(before);
    } finally {
      await direct.agent.stop();
    }
  });

  it("matches NO_PROXY entries like curl does", () => {
    const u = (s: string) => new URL(s);
    expect(bypassesProxy(u("https://cloud.example.com"), "example.com")).toBe(true);
    expect(bypassesProxy(u("https://cloud.example.com"), ".example.com")).toBe(true);
    expect(bypassesProxy(u("https://example.com.evil.io"), "example.com")).toBe(false);
    expect(bypassesProxy(u("https://10.1.2.3:8443"), "10.0.0.0/8")).toBe(true);
    expect(bypassesProxy(u("https://11.1.2.3"), "10.0.0.0/8")).toBe(false);
    expect(bypassesProxy(u("https://cloud.example.com:8443"), "cloud.example.com:443")).toBe(false);
    expect(bypassesProxy(u("https://anything"), "*")).toBe(true);
    expect(bypassesProxy(u("https://anything"), undefined)).toBe(false);
  });
});
