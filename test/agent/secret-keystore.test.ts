// The agent's key in a Kubernetes Secret, through the agent's own small client, against the API simulator.
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createKubernetesSecretKeyStore, loadOrCreateKey } from "../../agent/src/keystore.ts";
import { KubeSim } from "../k8s-sim/index.ts";

describe("Secret key store", () => {
  let sim: KubeSim;
  beforeAll(async () => {
    sim = await KubeSim.start({ https: true });
    sim.seed({ apiVersion: "v1", kind: "Namespace", metadata: { name: "camel-ops" } });
  });
  afterAll(() => sim?.stop());

  it("creates the key once in a Secret and every later start loads the same key", async () => {
    const store = await createKubernetesSecretKeyStore("camel-ops", "runner-agent-key", sim.kubeconfigPath);
    expect(store.describe()).toBe("secret camel-ops/runner-agent-key");
    const first = await loadOrCreateKey(store);
    expect(first.created).toBe(true);

    const secret = sim.get("Secret", "camel-ops", "runner-agent-key") as { data?: Record<string, string> } | undefined;
    const jwk = JSON.parse(Buffer.from(secret?.data?.["key.jwk"] ?? "", "base64").toString("utf8"));
    expect(jwk).toMatchObject({ kty: "OKP", crv: "Ed25519" });
    expect(typeof jwk.d).toBe("string");

    const again = await loadOrCreateKey(
      await createKubernetesSecretKeyStore("camel-ops", "runner-agent-key", sim.kubeconfigPath),
    );
    expect(again.created).toBe(false);
    expect(again.key.publicJwk).toEqual(first.key.publicJwk);
  });
});
