import { mkdtemp, readFile, rm } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { ChartDigestError, fetchVerifiedChart, sha256Hex } from "./chart-source.ts";

const archive = Buffer.from("pretend this is a chart archive");
let dir: string;
let url: string;
const server = createServer((_req, res) => res.end(archive));
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "chart-src-"));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/chart.tgz`;
});
afterAll(async () => {
  server.close();
  await rm(dir, { recursive: true, force: true });
});

it("accepts a chart whose sha256 matches and caches it by digest", async () => {
  const digest = sha256Hex(archive);
  const path = await fetchVerifiedChart({
    url,
    digest: `sha256:${digest}`,
    cacheDir: dir,
    fetch,
    signal: new AbortController().signal,
  });
  expect(path).toBe(join(dir, `${digest}.tgz`));
  expect(await readFile(path)).toEqual(archive);
});

it("refuses a chart whose digest does not match, and writes nothing", async () => {
  const wrong = sha256Hex("something else");
  await expect(
    fetchVerifiedChart({ url, digest: wrong, cacheDir: dir, fetch, signal: new AbortController().signal }),
  ).rejects.toBeInstanceOf(ChartDigestError);
  await expect(readFile(join(dir, `${wrong}.tgz`))).rejects.toThrow();
});

it("rejects a digest that is not sha256", async () => {
  await expect(
    fetchVerifiedChart({ url, digest: "md5:abc", cacheDir: dir, fetch, signal: new AbortController().signal }),
  ).rejects.toThrow(/not a sha256/);
});
