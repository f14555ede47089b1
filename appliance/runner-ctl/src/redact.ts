// Redaction for support bundles: known secret values are replaced wherever they appear, and
// anything that looks like a credential (key=value pairs named like secrets, JWTs, K3s tokens,
// PEM private keys, URL passwords, bearer tokens) is replaced by pattern.
export const REDACTED = "[REDACTED]";

const SECRET_KEY =
  "[A-Za-z0-9_.-]*(?:password|passwd|pwd|secret|token|apikey|api[_-]key|private[_-]?key|credential|passphrase|auth)[A-Za-z0-9_.-]*";

const PATTERNS: Array<[RegExp, string | ((...m: string[]) => string)]> = [
  // PEM private keys
  [
    /-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?-----END [A-Z ]*PRIVATE KEY-----/g,
    `-----BEGIN PRIVATE KEY-----${REDACTED}-----END PRIVATE KEY-----`,
  ],
  // JWTs
  [/eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}/g, REDACTED],
  // K3s tokens (secure format)
  [/K10[0-9a-f]{64}::[^\s"',]+/g, REDACTED],
  // credentials in URLs
  [/(\b[a-z][a-z0-9+.-]*:\/\/[^/\s:@]+:)[^/\s@]+@/gi, `$1${REDACTED}@`],
  // Authorization headers
  [/\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g, `$1 ${REDACTED}`],
  // "key": "value" (JSON)
  [new RegExp(String.raw`("${SECRET_KEY}"\s*:\s*)"(?:[^"\\]|\\.)*"`, "gi"), `$1"${REDACTED}"`],
  // key: value (YAML) and key=value (env, properties, logs)
  [
    new RegExp(String.raw`(\b${SECRET_KEY}\s*[:=]\s*)(?!\[REDACTED\])("[^"\n]*"|'[^'\n]*'|[^\s,;&"'{}\[\]]+)`, "gi"),
    `$1${REDACTED}`,
  ],
];

export class Redactor {
  private readonly literals: string[] = [];

  /** Adds a secret value to replace wherever it appears (values shorter than 4 characters are ignored). */
  addSecret(value: string | undefined): void {
    const v = value?.trim();
    if (!v || v.length < 4) return;
    this.literals.push(v);
    // also its base64 form, as it appears in Kubernetes Secrets and Helm release data
    this.literals.push(Buffer.from(v).toString("base64"));
    this.literals.sort((a, b) => b.length - a.length);
  }

  redact(text: string): string {
    let out = text;
    for (const lit of this.literals) out = out.split(lit).join(REDACTED);
    for (const [re, rep] of PATTERNS) out = out.replace(re, rep as string);
    return out;
  }
}
