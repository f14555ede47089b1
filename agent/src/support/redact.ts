// Redaction of anything that may be a secret before it leaves the cluster (Helm values, bundle parts, logs).

export const REDACTED = "[redacted]";

// Keys whose values are secrets whatever they look like.
const SECRET_KEY =
  /(pass(word|wd|phrase)?|secret|token|api[-_]?key|private[-_]?key|credential|auth(orization)?|cookie|session|dsn|connection[-_]?string|jwt|bearer|access[-_]?key|client[-_]?key|tls\.key|\.pem$)/i;
// Keys that contain a secret-looking word but carry no secret (names of secrets, key names, flags).
const BENIGN_KEY =
  /^(existingSecret|secretName|secretKeyRef|existingSecret\w*Key|\w*SecretName|\w*KeyRef|keySecret|tokenTtl\w*|\w*Enabled|serviceAccountName|automountServiceAccountToken|authMethod|authType)$/i;

const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g;
const PEM = /-----BEGIN [A-Z ]*(PRIVATE KEY|CERTIFICATE|ENCRYPTED PRIVATE KEY)-----[\s\S]*?-----END [A-Z ]*-----/g;
const URL_USERINFO = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s/@:]+):([^\s/@]+)@/gi;
const KV_IN_TEXT =
  /\b(password|passwd|secret|token|api[-_]?key|authorization)(\s*[=:]\s*)("[^"]*"|'[^']*'|[^\s,;&"']+)/gi;
const BEARER = /\b(Bearer|Basic)\s+[A-Za-z0-9._~+/=-]{8,}/g;

export function isSecretKey(key: string): boolean {
  return SECRET_KEY.test(key) && !BENIGN_KEY.test(key);
}

/** Redacts secrets inside free text (log lines, helm output, HTTP bodies). */
export function redactText(s: string): string {
  return s
    .replace(PEM, (_m, kind: string) => `-----${kind} ${REDACTED}-----`)
    .replace(JWT, REDACTED)
    .replace(BEARER, (_m, scheme: string) => `${scheme} ${REDACTED}`)
    .replace(URL_USERINFO, (_m, scheme: string, user: string) => `${scheme}${user}:${REDACTED}@`)
    .replace(KV_IN_TEXT, (_m, k: string, sep: string) => `${k}${sep}${REDACTED}`);
}

/** Deep copy with secret keys replaced and secret-looking strings scrubbed. */
export function redactValue(v: unknown, depth = 0): unknown {
  if (depth > 64) return REDACTED;
  if (typeof v === "string") return redactText(v);
  if (Array.isArray(v)) return v.map((x) => redactValue(x, depth + 1));
  if (v && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (isSecretKey(k) && x !== null && x !== "" && typeof x !== "boolean" && typeof x !== "object")
        out[k] = REDACTED;
      else if (isSecretKey(k) && x && typeof x === "object" && !Array.isArray(x) && /^(data|stringData)$/.test(k))
        out[k] = Object.fromEntries(Object.keys(x).map((kk) => [kk, REDACTED]));
      else out[k] = redactValue(x, depth + 1);
    }
    return out;
  }
  return v;
}

/** A Kubernetes Secret (or anything with data/stringData) keeps its key names only. */
export function redactSecretObject(o: { data?: Record<string, string>; stringData?: Record<string, string> }) {
  return {
    ...o,
    data: o.data ? Object.fromEntries(Object.keys(o.data).map((k) => [k, REDACTED])) : undefined,
    stringData: o.stringData ? Object.fromEntries(Object.keys(o.stringData).map((k) => [k, REDACTED])) : undefined,
  };
}
