// Sign-in: paste an API key; it is checked with GET /v1/me and kept only in this tab's sessionStorage.
import { useEffect, useRef, useState } from "preact/hooks";
import { api } from "../api.js";
import { html, Logo } from "../lib.js";

export function SignInPage({ onSignedIn, note }) {
  const [key, setKeyValue] = useState("");
  const [error, setError] = useState(undefined);
  const [busy, setBusy] = useState(false);
  const inputRef = useRef(null);

  useEffect(() => {
    document.title = "Sign in · Camel Ops";
    inputRef.current?.focus();
  }, []);

  const submit = async (e) => {
    e.preventDefault();
    const trimmed = key.trim();
    if (!trimmed) {
      setError("Paste an API key first.");
      inputRef.current?.focus();
      return;
    }
    setBusy(true);
    setError(undefined);
    try {
      const me = await api("/v1/me", { key: trimmed });
      onSignedIn(trimmed, me);
    } catch (err) {
      setError(err.status === 401 ? "That API key was not accepted (unknown, revoked or mistyped)." : err.message);
      inputRef.current?.focus();
    } finally {
      setBusy(false);
    }
  };

  return html`<main id="main" class="signin">
    <form class="card signin-card" onSubmit=${submit} aria-labelledby="signin-title" novalidate>
      <h1 id="signin-title"><${Logo} /> Camel Ops</h1>
      <p class="muted">Sign in to the fleet console with an operator API key.</p>
      ${note && !error ? html`<p class="note" role="status">${note}</p>` : null}
      <label for="api-key">API key</label>
      <input
        id="api-key"
        ref=${inputRef}
        type="password"
        autocomplete="off"
        spellcheck="false"
        value=${key}
        onInput=${(e) => setKeyValue(e.currentTarget.value)}
        aria-invalid=${error ? "true" : undefined}
        aria-describedby=${error ? "signin-error key-help" : "key-help"}
      />
      <p id="key-help" class="hint">Kept in this browser tab only, and forgotten when you sign out or close the tab.</p>
      ${error ? html`<p id="signin-error" class="field-error" role="alert">${error}</p>` : null}
      <button class="btn btn-primary" type="submit" disabled=${busy}>${busy ? "Checking…" : "Sign in"}</button>
    </form>
  </main>`;
}
