// A throw-away CA and a server certificate for 127.0.0.1 / localhost, made with the openssl CLI.

import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface TlsMaterial {
  caPem: string;
  caKeyPem: string;
  certPem: string;
  keyPem: string;
}

export function generateTls(): TlsMaterial {
  const dir = mkdtempSync(join(tmpdir(), "k8s-sim-tls-"));
  const run = (args: string[]) => execFileSync("openssl", args, { cwd: dir, stdio: ["ignore", "pipe", "pipe"] });
  try {
    run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "ca.key"]);
    run([
      "req",
      "-x509",
      "-new",
      "-key",
      "ca.key",
      "-sha256",
      "-days",
      "2",
      "-subj",
      "/CN=k8s-sim-ca",
      "-out",
      "ca.crt",
    ]);
    run(["ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", "server.key"]);
    run(["req", "-new", "-key", "server.key", "-subj", "/CN=kube-apiserver", "-out", "server.csr"]);
    writeFileSync(
      join(dir, "ext.cnf"),
      [
        "basicConstraints=CA:FALSE",
        "keyUsage=digitalSignature,keyEncipherment",
        "extendedKeyUsage=serverAuth",
        "subjectAltName=IP:127.0.0.1,IP:::1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default.svc",
      ].join("\n"),
    );
    run([
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.crt",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-days",
      "2",
      "-sha256",
      "-extfile",
      "ext.cnf",
      "-out",
      "server.crt",
    ]);
    const read = (f: string) => readFileSync(join(dir, f), "utf8");
    return { caPem: read("ca.crt"), caKeyPem: read("ca.key"), certPem: read("server.crt"), keyPem: read("server.key") };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
