// A TCP relay on loopback whose client-to-server direction is held to a byte rate: a customer's thin uplink,
// in front of a real cloud, for tests of what queues behind what on the agent's side of the tunnel.
import { type AddressInfo, connect, createServer, type Socket } from "node:net";
import { Transform, type TransformCallback } from "node:stream";

/** Passes bytes on at `bytesPerSec`, in 10 ms slices; upstream pauses while it waits (stream back-pressure). */
class Pace extends Transform {
  private readonly slice: number;
  constructor(bytesPerSec: number) {
    super({ highWaterMark: 16 * 1024 });
    this.slice = Math.max(1, Math.floor(bytesPerSec / 100));
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback) {
    let at = 0;
    const next = () => {
      if (at >= chunk.length) return cb();
      this.push(chunk.subarray(at, at + this.slice));
      at += this.slice;
      setTimeout(next, 10);
    };
    next();
  }
}

export interface ThrottleProxy {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startThrottleProxy(target: { host: string; port: number }, upBytesPerSec: number) {
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect(target.port, target.host);
    sockets.add(client);
    sockets.add(upstream);
    const end = () => {
      client.destroy();
      upstream.destroy();
      sockets.delete(client);
      sockets.delete(upstream);
    };
    client.on("error", end).on("close", end);
    upstream.on("error", end).on("close", end);
    client.pipe(new Pace(upBytesPerSec)).pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  return {
    url: `http://127.0.0.1:${port}`,
    port,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  } satisfies ThrottleProxy;
}
