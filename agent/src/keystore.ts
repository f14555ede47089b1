// Where the agent keeps its Ed25519 private key: a Kubernetes Secret in a cluster, a 0600 file outside one.
import { createPrivateKey, generateKeyPairSync, type KeyObject } from "node:crypto";
import { chmod, mkdir, readFile, rename, writeFile } from "node:fs/promises";
import { dirname } from "node:path";

export interface AgentKey {
  privateKey: KeyObject;
  /** public JWK { kty: "OKP", crv: "Ed25519", x } */
  publicJwk: { kty: "OKP"; crv: "Ed25519"; x: string };
}

export interface KeyStore {
  /** the stored key, or undefined when none was stored yet */
  load(): Promise<AgentKey | undefined>;
  save(key: AgentKey): Promise<void>;
  describe(): string;
}

export function generateAgentKey(): AgentKey {
  const { privateKey, publicKey } = generateKeyPairSync("ed25519");
  const jwk = publicKey.export({ format: "jwk" }) as { x: string };
  return { privateKey, publicJwk: { kty: "OKP", crv: "Ed25519", x: jwk.x } };
}

export function keyToJwk(key: AgentKey): Record<string, string> {
  return key.privateKey.export({ format: "jwk" }) as Record<string, string>;
}

export function keyFromJwk(jwk: Record<string, unknown>): AgentKey {
  if (jwk.kty !== "OKP" || jwk.crv !== "Ed25519" || typeof jwk.d !== "string" || typeof jwk.x !== "string") {
    throw new Error("the stored agent key is not an Ed25519 private JWK");
  }
  const privateKey = createPrivateKey({ key: jwk as never, format: "jwk" });
  return { privateKey, publicJwk: { kty: "OKP", crv: "Ed25519", x: jwk.x } };
}

/** Loads the stored key or generates, stores and returns a new one. */
export async function loadOrCreateKey(store: KeyStore): Promise<{ key: AgentKey; created: boolean }> {
  const existing = await store.load();
  if (existing) return { key: existing, created: false };
  const key = generateAgentKey();
  await store.save(key);
  return { key, created: true };
}

export class MemoryKeyStore implements KeyStore {
  private key: AgentKey | undefined;
  constructor(key?: AgentKey) {
    this.key = key;
  }
  async load() {
    return this.key;
  }
  async save(key: AgentKey) {
    this.key = key;
  }
  describe() {
    return "memory";
  }
}

/** A JWK file readable only by the agent's user (0600), written atomically. */
export class FileKeyStore implements KeyStore {
  readonly path: string;
  constructor(path: string) {
    this.path = path;
  }
  async load() {
    let text: string;
    try {
      text = await readFile(this.path, "utf8");
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === "ENOENT") return undefined;
      throw err;
    }
    return keyFromJwk(JSON.parse(text) as Record<string, unknown>);
  }
  async save(key: AgentKey) {
    await mkdir(dirname(this.path), { recursive: true, mode: 0o700 });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(keyToJwk(key)), { mode: 0o600 });
    await chmod(tmp, 0o600);
    await rename(tmp, this.path);
  }
  describe() {
    return `file ${this.path}`;
  }
}

/** The minimal slice of @kubernetes/client-node's CoreV1Api the Secret store uses (so tests can pass a fake). */
export interface SecretsApi {
  readNamespacedSecret(p: { name: string; namespace: string }): Promise<{ data?: Record<string, string> }>;
  createNamespacedSecret(p: { namespace: string; body: unknown }): Promise<unknown>;
}

/** A Kubernetes Secret (`data.key.jwk`) in the agent's namespace; the ServiceAccount may read and create it only. */
export class KubernetesSecretKeyStore implements KeyStore {
  private readonly api: SecretsApi;
  private readonly namespace: string;
  private readonly name: string;
  constructor(api: SecretsApi, namespace: string, name: string) {
    this.api = api;
    this.namespace = namespace;
    this.name = name;
  }
  async load() {
    try {
      const s = await this.api.readNamespacedSecret({ name: this.name, namespace: this.namespace });
      const b64 = s.data?.["key.jwk"];
      if (!b64) return undefined;
      return keyFromJwk(JSON.parse(Buffer.from(b64, "base64").toString("utf8")) as Record<string, unknown>);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }
  async save(key: AgentKey) {
    await this.api.createNamespacedSecret({
      namespace: this.namespace,
      body: {
        apiVersion: "v1",
        kind: "Secret",
        type: "Opaque",
        metadata: { name: this.name, labels: { "app.kubernetes.io/component": "agent-key" } },
        data: { "key.jwk": Buffer.from(JSON.stringify(keyToJwk(key))).toString("base64") },
      },
    });
  }
  describe() {
    return `secret ${this.namespace}/${this.name}`;
  }
}

function isNotFound(err: unknown): boolean {
  const e = err as { code?: number; statusCode?: number; response?: { statusCode?: number }; body?: unknown };
  return e?.code === 404 || e?.statusCode === 404 || e?.response?.statusCode === 404;
}

/**
 * Builds the Secret store over the agent's small Kubernetes client (in-cluster credentials, or KUBECONFIG), so the
 * idle agent does not load @kubernetes/client-node (about 20 MiB; ADR 0007).
 */
export async function createKubernetesSecretKeyStore(
  namespace: string,
  name: string,
  kubeconfigPath?: string,
): Promise<KubernetesSecretKeyStore> {
  const { connectKube } = await import("./cluster/kube.ts");
  const kube = connectKube({ kubeconfigPath });
  return new KubernetesSecretKeyStore(kube.core as unknown as SecretsApi, namespace, name);
}
