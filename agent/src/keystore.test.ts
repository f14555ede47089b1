// Key and state stores: the file key store writes 0600 and reads back the same key; the Secret store speaks the
// client-node API; the file state store survives a reload.
import { mkdtempSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { FileKeyStore, KubernetesSecretKeyStore, loadOrCreateKey, type SecretsApi } from "./keystore.ts";
import { FileStateStore } from "./state-store.ts";

describe("agent key and state stores", () => {
  it("creates a key once in a 0600 file and loads the same key after", async () => {
    const path = join(mkdtempSync(join(tmpdir(), "agent-key-")), "sub", "agent-key.jwk");
    const store = new FileKeyStore(path);
    const first = await loadOrCreateKey(store);
    expect(first.created).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const again = await loadOrCreateKey(new FileKeyStore(path));
    expect(again.created).toBe(false);
    expect(again.key.publicJwk).toEqual(first.key.publicJwk);
  });

  it("keeps the key in a Secret through the client-node API shape", async () => {
    const secrets = new Map<string, Record<string, string>>();
    const api: SecretsApi = {
      async readNamespacedSecret({ name, namespace }) {
        const data = secrets.get(`${namespace}/${name}`);
        if (!data) throw Object.assign(new Error("not found"), { code: 404 });
        return { data };
      },
      async createNamespacedSecret({ namespace, body }) {
        const b = body as { metadata: { name: string }; data: Record<string, string> };
        secrets.set(`${namespace}/${b.metadata.name}`, b.data);
        return b;
      },
    };
    const store = new KubernetesSecretKeyStore(api, "camel-ops", "agent-key");
    const first = await loadOrCreateKey(store);
    const again = await loadOrCreateKey(store);
    expect(first.created).toBe(true);
    expect(again.created).toBe(false);
    expect(again.key.publicJwk.x).toBe(first.key.publicJwk.x);
  });

  it("persists executed commands and reservations in the state file", async () => {
    const store = new FileStateStore(join(mkdtempSync(join(tmpdir(), "agent-state-")), "state.json"));
    const s = await store.load();
    s.executed.cmd_1 = { seq: 1, status: "succeeded", result: { ok: true } };
    s.lastCommandSeq = 1;
    s.eventSeqReserved = 1000;
    await store.save(s);
    const back = await new FileStateStore(store.path).load();
    expect(back.executed.cmd_1?.status).toBe("succeeded");
    expect(back.eventSeqReserved).toBe(1000);
  });
});
