// A small JSON POST over node:http(s) that honours the proxy agent and CA bundle (fetch would ignore both).
import type { Agent as HttpAgent } from "node:http";
import { request as httpRequest } from "node:http";
import { request as httpsRequest } from "node:https";

export interface PostOptions {
  agent?: HttpAgent;
  ca?: string | Buffer | Array<string | Buffer>;
  timeoutMs: number;
}

export function postJson(url: string, body: unknown, opts: PostOptions): Promise<{ status: number; body: unknown }> {
  const u = new URL(url);
  const payload = Buffer.from(JSON.stringify(body));
  const request = u.protocol === "https:" ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      u,
      {
        method: "POST",
        agent: opts.agent,
        ca: opts.ca,
        headers: { "content-type": "application/json", "content-length": payload.length, accept: "application/json" },
        timeout: opts.timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => chunks.push(c));
        res.on("end", () => {
          const text = Buffer.concat(chunks).toString("utf8");
          let parsed: unknown = text;
          try {
            parsed = JSON.parse(text);
          } catch {}
          resolve({ status: res.statusCode ?? 0, body: parsed });
        });
        res.on("error", reject);
      },
    );
    req.on("timeout", () => req.destroy(new Error("request timed out")));
    req.on("error", reject);
    req.end(payload);
  });
}
