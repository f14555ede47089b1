// Shared pieces of the UI: htm bound to preact, the history router, polling, formatting and small components.
import htm from "htm";
import { h } from "preact";
import { useCallback, useEffect, useRef, useState } from "preact/hooks";

export const html = htm.bind(h);

// ---------- router (history API) ----------
const ROUTE_EVENT = "camelops:navigate";

export function navigate(to, { replace = false } = {}) {
  if (to === location.pathname + location.search) return;
  history[replace ? "replaceState" : "pushState"](null, "", to);
  window.dispatchEvent(new Event(ROUTE_EVENT));
}

export function useLocation() {
  const read = () => ({ path: location.pathname, search: location.search });
  const [loc, setLoc] = useState(read);
  useEffect(() => {
    const on = () => setLoc(read());
    window.addEventListener("popstate", on);
    window.addEventListener(ROUTE_EVENT, on);
    return () => {
      window.removeEventListener("popstate", on);
      window.removeEventListener(ROUTE_EVENT, on);
    };
  }, []);
  return loc;
}

/** Replaces the query string without a history entry (filters). */
export function setQuery(params) {
  const sp = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== null && v !== "") sp.set(k, String(v));
  const qs = sp.toString();
  navigate(location.pathname + (qs ? `?${qs}` : ""), { replace: true });
}

export function Link({ href, children, ...rest }) {
  const onClick = (e) => {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(href);
  };
  return html`<a href=${href} onClick=${onClick} ...${rest}>${children}</a>`;
}

// ---------- polling ----------
/**
 * Runs `fetcher` now and every `interval` ms while the tab is visible (0 = once). Results of a superseded
 * run (deps changed meanwhile) are dropped. Returns { data, error, updatedAt, loading, refresh }.
 */
export function usePoll(fetcher, deps, interval = 2500) {
  const [state, setState] = useState({ data: undefined, error: undefined, updatedAt: undefined, loading: true });
  const fetcherRef = useRef(fetcher);
  fetcherRef.current = fetcher;
  const gen = useRef(0);

  const refresh = useCallback(async () => {
    const mine = gen.current;
    try {
      const data = await fetcherRef.current();
      if (mine === gen.current) setState({ data, error: undefined, updatedAt: Date.now(), loading: false });
    } catch (error) {
      if (mine === gen.current) setState((s) => ({ ...s, error, loading: false }));
    }
  }, []);

  useEffect(() => {
    gen.current++;
    let stopped = false;
    let timer;
    setState((s) => ({ ...s, loading: true }));
    const run = async () => {
      if (stopped) return;
      if (!document.hidden) await refresh();
      if (!stopped && interval > 0) timer = setTimeout(run, interval);
    };
    run();
    const onVisible = () => {
      if (!document.hidden && interval > 0 && !stopped) {
        clearTimeout(timer);
        run();
      }
    };
    document.addEventListener("visibilitychange", onVisible);
    return () => {
      stopped = true;
      clearTimeout(timer);
      document.removeEventListener("visibilitychange", onVisible);
    };
  }, deps);

  return { ...state, refresh };
}

/** Re-renders every `ms` (for "updated 3 s ago"). */
export function useNow(ms = 1000) {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    const t = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(t);
  }, [ms]);
  return now;
}

export function useDebounced(value, ms = 250) {
  const [v, setV] = useState(value);
  useEffect(() => {
    const t = setTimeout(() => setV(value), ms);
    return () => clearTimeout(t);
  }, [value, ms]);
  return v;
}

// ---------- announcements (aria-live) ----------
const ANNOUNCE_EVENT = "camelops:announce";
/** Speaks a status change to screen readers and shows it as a toast. kind: info | success | error */
export function announce(message, kind = "info") {
  window.dispatchEvent(new CustomEvent(ANNOUNCE_EVENT, { detail: { message, kind, at: Date.now() } }));
}
export function useAnnouncements() {
  const [items, setItems] = useState([]);
  useEffect(() => {
    const on = (e) => {
      const item = { ...e.detail, id: `${e.detail.at}-${Math.random()}` };
      setItems((list) => [...list.slice(-3), item]);
      setTimeout(() => setItems((list) => list.filter((x) => x.id !== item.id)), item.kind === "error" ? 10000 : 5000);
    };
    window.addEventListener(ANNOUNCE_EVENT, on);
    return () => window.removeEventListener(ANNOUNCE_EVENT, on);
  }, []);
  return items;
}

// ---------- formatting ----------
export function timeAgo(iso, now = Date.now()) {
  if (!iso) return "never";
  const t = typeof iso === "number" ? iso : Date.parse(iso);
  if (Number.isNaN(t)) return "—";
  const s = Math.round((now - t) / 1000);
  // Small negatives are clock skew between the poll and the ticking clock, not the future.
  if (s < -60) return `in ${fmtDuration(-s)}`;
  if (s < 5) return "just now";
  return `${fmtDuration(s)} ago`;
}
export function fmtDuration(s) {
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}
export function fmtDate(iso, { seconds = false } = {}) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  return d.toLocaleString(undefined, { dateStyle: "medium", timeStyle: seconds ? "medium" : "short" });
}

// ---------- roles ----------
const RANK = { viewer: 0, operator: 1, admin: 2 };
/** True when `role` is at least `needed` (viewer < operator < admin). */
export function atLeast(role, needed) {
  return (RANK[role] ?? -1) >= RANK[needed];
}

// ---------- components ----------
export function Logo() {
  return html`<svg class="logo" viewBox="0 0 24 24" width="22" height="22" aria-hidden="true" focusable="false">
    <rect width="24" height="24" rx="6" fill="currentColor" />
    <path d="M4 17c1.5 0 2-2 2.5-4S8 8 10 8s2 3 3 3 1.2-4 3.2-4S19 10 19 12v5" fill="none" stroke="#fff" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" />
  </svg>`;
}

const STATUS_GLYPH = {
  online: "●",
  healthy: "●",
  succeeded: "✔",
  completed: "✔",
  active: "●",
  offline: "○",
  pending: "○",
  deferred: "◌",
  degraded: "▲",
  applying: "◐",
  running: "◐",
  paused: "❚❚",
  halted: "■",
  failed: "✖",
  "timed-out": "✖",
  "rolled-back": "↺",
  aborted: "✖",
  suspended: "❚❚",
  revoked: "✖",
  yanked: "✖",
  disabled: "⊘",
  queued: "○",
  soaking: "◑",
  skipped: "↷",
  superseded: "↷",
  "rolling-back": "↺",
  delivered: "◐",
  expired: "○",
  published: "●",
  sent: "◐",
  acknowledged: "◐",
  done: "✔",
};
/** A status as glyph + text (colour is never the only signal). */
export function Badge({ status, label }) {
  const s = String(status ?? "unknown");
  return html`<span class=${`badge badge-${s.replace(/[^a-z-]/gi, "")}`}
    ><span aria-hidden="true">${STATUS_GLYPH[s] ?? "•"} </span>${label ?? s}</span
  >`;
}

export function Updated({ updatedAt, error, loading }) {
  const now = useNow(1000);
  if (error)
    return html`<p class="updated updated-error" role="status">
      Update failed: ${error.message}${updatedAt ? ` (last success ${timeAgo(updatedAt, now)})` : ""}; retrying.
    </p>`;
  if (!updatedAt) return html`<p class="updated" role="status">${loading ? "Loading…" : ""}</p>`;
  return html`<p class="updated"><span class="live-dot" aria-hidden="true"></span> Live · updated ${timeAgo(updatedAt, now)}</p>`;
}

export function ErrorBox({ error }) {
  if (!error) return null;
  return html`<div class="error-box" role="alert">
    <strong>Error:</strong> ${error.message}${error.requestId ? html` <small>(request ${error.requestId})</small>` : ""}
  </div>`;
}

/** The page's h1, focused after navigation so keyboard and screen-reader users land on the new page. */
export function PageTitle({ children, title }) {
  const ref = useRef(null);
  useEffect(() => {
    document.title = `${title ?? (typeof children === "string" ? children : "")} · Camel Ops`;
    if (ref.current && document.activeElement?.closest?.("main") == null) ref.current.focus({ preventScroll: true });
  }, [title, children]);
  return html`<h1 tabindex="-1" ref=${ref}>${children}</h1>`;
}

/** Runs an async action with a busy flag; the error is announced and returned to the caller. */
export function useAction() {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(undefined);
  const run = useCallback(async (fn, successMessage) => {
    setBusy(true);
    setError(undefined);
    try {
      const result = await fn();
      if (successMessage) announce(successMessage, "success");
      return result;
    } catch (err) {
      setError(err);
      announce(err.message, "error");
      return undefined;
    } finally {
      setBusy(false);
    }
  }, []);
  return { busy, error, run, setError };
}

/** "timedOut" → "timed out": count keys of the API read as words. */
export function words(key) {
  return String(key).replace(/([a-z])([A-Z])/g, (_m, a, b) => `${a} ${b.toLowerCase()}`);
}

export function shortId(id) {
  return id ? String(id).slice(0, 14) : "—";
}
