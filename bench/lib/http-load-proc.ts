// HTTP/1.1 keep-alive load over raw sockets: `connections` sockets each send one precomputed request, read the
// whole response (Content-Length or chunked), and send the next, for `seconds`. Reports requests/s and latencies.
import net from "node:net";

interface Job {
  port: number;
  path: string;
  headers: Record<string, string>;
  connections: number;
  seconds: number;
}

function run(
  job: Job,
): Promise<{ requests: number; errors: number; statuses: Record<string, number>; lat: number[]; seconds: number }> {
  const req = Buffer.from(
    `GET ${job.path} HTTP/1.1\r\nHost: 127.0.0.1:${job.port}\r\n${Object.entries(job.headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join("")}\r\n`,
  );
  let requests = 0;
  let errors = 0;
  const statuses: Record<string, number> = {};
  const lat: number[] = [];
  const start = performance.now();
  const end = start + job.seconds * 1000;
  return new Promise((done) => {
    let open = job.connections;
    for (let i = 0; i < job.connections; i++) {
      const sock = net.connect({ port: job.port, host: "127.0.0.1", noDelay: true });
      let buf = Buffer.alloc(0);
      let sentAt = 0;
      const fire = () => {
        if (performance.now() >= end) return sock.end();
        sentAt = performance.now();
        sock.write(req);
      };
      sock.on("connect", fire);
      sock.on("data", (d) => {
        buf = buf.length ? Buffer.concat([buf, d]) : d;
        for (;;) {
          const he = buf.indexOf("\r\n\r\n");
          if (he < 0) return;
          const head = buf.toString("latin1", 0, he);
          const cl = /content-length:\s*(\d+)/i.exec(head);
          let total: number;
          if (cl) total = he + 4 + Number(cl[1]);
          else if (/transfer-encoding:\s*chunked/i.test(head)) {
            const z = buf.indexOf("\r\n0\r\n\r\n", he);
            if (z < 0) return;
            total = z + 7;
          } else total = he + 4;
          if (buf.length < total) return;
          const status = head.slice(9, 12);
          statuses[status] = (statuses[status] ?? 0) + 1;
          requests++;
          lat.push(performance.now() - sentAt);
          buf = buf.subarray(total);
          fire();
        }
      });
      sock.on("error", () => {
        errors++;
      });
      sock.on("close", () => {
        if (--open === 0) done({ requests, errors, statuses, lat, seconds: (performance.now() - start) / 1000 });
      });
    }
  });
}

process.on("message", async (job: Job & { op?: string }) => {
  if (job.op === "exit") process.exit(0);
  const r = await run(job);
  r.lat.sort((a, b) => a - b);
  const q = (p: number) => r.lat[Math.min(r.lat.length - 1, Math.floor(p * r.lat.length))] ?? Number.NaN;
  process.send!({
    op: "done",
    requests: r.requests,
    rps: r.requests / r.seconds,
    errors: r.errors,
    statuses: r.statuses,
    p50: q(0.5),
    p99: q(0.99),
  });
});
