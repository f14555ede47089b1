// webRouter over HTTP without a browser: which paths get index.html, the CSP, caching, compression, the
// vendor allow-list, and that the page references only assets the router actually serves.
import { createHash } from "node:crypto";
import { describe, expect, it } from "vitest";
import { UI_ROUTES, webRouter } from "./index.ts";

const router = webRouter();
const get = (path: string, headers: Record<string, string> = {}) => Promise.resolve(router.request(path, { headers }));

describe("webRouter", () => {
  it("answers every client-side route with index.html under a strict CSP", async () => {
    expect(UI_ROUTES).toContain("/fleet");
    for (const path of [
      "/",
      "/signin",
      "/fleet",
      "/appliances/apl_1",
      "/rollouts",
      "/rollouts/new",
      "/rollouts/rol_1",
      "/releases",
      "/customers",
      "/licenses",
    ]) {
      const res = await get(path);
      expect(res.status, path).toBe(200);
      expect(res.headers.get("content-type")).toBe("text/html; charset=utf-8");
      expect(res.headers.get("x-frame-options")).toBe("DENY");
      const csp = res.headers.get("content-security-policy")!;
      expect(csp).toContain("default-src 'none'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toMatch(/unsafe-|https?:|\*/);
    }
  });

  it("allows exactly the inline import map by its hash", async () => {
    const res = await get("/fleet");
    const html = await res.text();
    const map = html.match(/<script type="importmap">(.*?)<\/script>/s)?.[1];
    expect(map).toBeDefined();
    const hash = createHash("sha256").update(map!).digest("base64");
    expect(res.headers.get("content-security-policy")).toContain(`script-src 'self' 'sha256-${hash}'`);
    expect(html.match(/<script(?![^>]*type="importmap")(?![^>]*src=)[^>]*>/g) ?? []).toEqual([]);
  });

  it("serves every asset the page and the import map reference, and nothing from outside", async () => {
    const html = await (await get("/")).text();
    const refs = [...html.matchAll(/(?:href|src)="(\/ui\/[^"]+)"/g)].map((m) => m[1]!);
    const map = JSON.parse(html.match(/<script type="importmap">(.*?)<\/script>/s)![1]!) as {
      imports: Record<string, string>;
    };
    expect(refs.length).toBeGreaterThan(10);
    for (const ref of [...refs, ...Object.values(map.imports)]) {
      expect((await get(ref)).status, ref).toBe(200);
    }
    expect(html).not.toMatch(/https?:\/\//);
    for (const bad of ["/ui/vendor/package.json", "/ui/../package.json", "/ui/%2e%2e/package.json", "/ui/js/nope.js"]) {
      expect((await get(bad)).status, bad).toBe(404);
    }
  });

  it("revalidates with ETags and compresses text", async () => {
    const first = await get("/ui/vendor/uplot.mjs", { "accept-encoding": "gzip, br" });
    expect(first.status).toBe(200);
    expect(first.headers.get("content-encoding")).toBe("gzip");
    expect(first.headers.get("content-type")).toBe("text/javascript; charset=utf-8");
    expect(first.headers.get("cache-control")).toBe("no-cache");
    const etag = first.headers.get("etag")!;
    const again = await get("/ui/vendor/uplot.mjs", { "if-none-match": etag });
    expect(again.status).toBe(304);
    expect(await again.text()).toBe("");
    const plain = await get("/ui/vendor/uplot.mjs");
    expect(plain.headers.get("content-encoding")).toBeNull();
    expect((await plain.text()).length).toBeGreaterThan(10_000);
  });
});
