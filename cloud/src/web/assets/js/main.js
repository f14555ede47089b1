// The UI shell: session (API key in sessionStorage, checked with GET /v1/me), layout, routes, keyboard shortcuts.
import { render } from "preact";
import { useEffect, useRef, useState } from "preact/hooks";
import { api, clearKey, getKey, setKey } from "./api.js";
import { announce, html, Link, Logo, navigate, useAnnouncements, useLocation } from "./lib.js";
import { AppliancePage } from "./pages/appliance.js";
import { CustomersPage } from "./pages/customers.js";
import { FleetPage } from "./pages/fleet.js";
import { LicensesPage } from "./pages/licenses.js";
import { ReleasesPage } from "./pages/releases.js";
import { RolloutDetailPage } from "./pages/rollout-detail.js";
import { RolloutNewPage } from "./pages/rollout-new.js";
import { RolloutsPage } from "./pages/rollouts.js";
import { SignInPage } from "./pages/signin.js";

const NAV = [
  {
    href: "/fleet",
    label: "Fleet",
    key: "f",
    match: (p) => p === "/" || p.startsWith("/fleet") || p.startsWith("/appliances"),
  },
  { href: "/rollouts", label: "Rollouts", key: "r", match: (p) => p.startsWith("/rollouts") },
  { href: "/releases", label: "Releases", key: "e", match: (p) => p.startsWith("/releases") },
  { href: "/customers", label: "Customers", key: "c", match: (p) => p.startsWith("/customers") },
  { href: "/licenses", label: "Licenses", key: "l", match: (p) => p.startsWith("/licenses") },
];

export const SHORTCUTS = [
  ["/", "Focus the search or first filter of the page"],
  ["g f", "Go to the fleet"],
  ["g r", "Go to rollouts"],
  ["g e", "Go to releases"],
  ["g c", "Go to customers"],
  ["g l", "Go to licenses"],
  ["n", "New rollout (on the rollouts pages)"],
  ["?", "Show this list"],
  ["Esc", "Close a dialog"],
];

function route(path, me) {
  let m = path.match(/^\/appliances\/([^/]+)$/);
  if (m) return html`<${AppliancePage} id=${decodeURIComponent(m[1])} me=${me} />`;
  if (path === "/rollouts/new") return html`<${RolloutNewPage} me=${me} />`;
  m = path.match(/^\/rollouts\/([^/]+)$/);
  if (m) return html`<${RolloutDetailPage} id=${decodeURIComponent(m[1])} me=${me} />`;
  if (path === "/rollouts") return html`<${RolloutsPage} me=${me} />`;
  if (path === "/releases") return html`<${ReleasesPage} me=${me} />`;
  if (path === "/customers") return html`<${CustomersPage} me=${me} />`;
  if (path === "/licenses") return html`<${LicensesPage} me=${me} />`;
  if (path === "/" || path === "/fleet") return html`<${FleetPage} me=${me} />`;
  return html`<section><h1 tabindex="-1">Not found</h1><p>No page at ${path}. <${Link} href="/fleet">Go to the fleet</${Link}>.</p></section>`;
}

function useShortcuts(enabled, openHelp) {
  useEffect(() => {
    if (!enabled) return;
    let pendingG = 0;
    const onKey = (e) => {
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      const t = e.target;
      const typing = t instanceof HTMLElement && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
      if (typing || document.querySelector("dialog[open]")) return;
      if (e.key === "/") {
        const el = document.querySelector("[data-search]");
        if (el) {
          e.preventDefault();
          el.focus();
        }
        return;
      }
      if (e.key === "?") {
        e.preventDefault();
        openHelp();
        return;
      }
      if (e.key === "g") {
        pendingG = Date.now();
        return;
      }
      if (Date.now() - pendingG < 1500) {
        pendingG = 0;
        const item = NAV.find((n) => n.key === e.key);
        if (item) {
          e.preventDefault();
          navigate(item.href);
        }
        return;
      }
      if (e.key === "n" && location.pathname.startsWith("/rollouts") && location.pathname !== "/rollouts/new") {
        e.preventDefault();
        navigate("/rollouts/new");
      }
    };
    document.addEventListener("keydown", onKey);
    return () => document.removeEventListener("keydown", onKey);
  }, [enabled, openHelp]);
}

function ShortcutsDialog({ dialogRef }) {
  return html`<dialog ref=${dialogRef} aria-labelledby="shortcuts-title" class="dialog">
    <h2 id="shortcuts-title">Keyboard shortcuts</h2>
    <table class="table compact">
      <caption class="sr-only">Keyboard shortcuts</caption>
      <thead><tr><th scope="col">Keys</th><th scope="col">Action</th></tr></thead>
      <tbody>
        ${SHORTCUTS.map(([k, d]) => html`<tr><th scope="row"><kbd>${k}</kbd></th><td>${d}</td></tr>`)}
      </tbody>
    </table>
    <form method="dialog"><button class="btn">Close</button></form>
  </dialog>`;
}

function Toasts() {
  const items = useAnnouncements();
  return html`<div class="toasts">
    <div class="sr-only" aria-live="polite" aria-atomic="false" id="live-polite">
      ${items.filter((i) => i.kind !== "error").map((i) => html`<p key=${i.id}>${i.message}</p>`)}
    </div>
    <div class="sr-only" aria-live="assertive" id="live-assertive">
      ${items.filter((i) => i.kind === "error").map((i) => html`<p key=${i.id}>${i.message}</p>`)}
    </div>
    ${items.map((i) => html`<div key=${i.id} class=${`toast toast-${i.kind}`} aria-hidden="true">${i.message}</div>`)}
  </div>`;
}

function App() {
  const { path } = useLocation();
  const [session, setSession] = useState({
    state: getKey() ? "checking" : "signed-out",
    me: undefined,
    note: undefined,
  });
  const helpRef = useRef(null);
  const openHelp = useRef(() => helpRef.current?.showModal()).current;

  useEffect(() => {
    if (session.state !== "checking") return;
    api("/v1/me")
      .then((me) => setSession({ state: "signed-in", me }))
      .catch((err) => {
        clearKey();
        setSession({
          state: "signed-out",
          note: err.status === 401 ? "Your API key is no longer valid; sign in again." : err.message,
        });
      });
  }, [session.state]);

  useEffect(() => {
    const on = () => {
      clearKey();
      setSession({
        state: "signed-out",
        note: "The server rejected your API key (revoked or expired). Sign in again.",
      });
    };
    window.addEventListener("camelops:unauthorized", on);
    return () => window.removeEventListener("camelops:unauthorized", on);
  }, []);

  useShortcuts(session.state === "signed-in", openHelp);

  useEffect(() => {
    if (session.state === "signed-out" && path !== "/signin") {
      const next = path === "/" ? "" : `?next=${encodeURIComponent(path + location.search)}`;
      navigate(`/signin${next}`, { replace: true });
    }
    if (session.state === "signed-in" && path === "/signin") {
      const next = new URLSearchParams(location.search).get("next");
      navigate(next?.startsWith("/") && !next.startsWith("//") ? next : "/fleet", { replace: true });
    }
  }, [session.state, path]);

  const onSignedIn = (key, me) => {
    setKey(key);
    setSession({ state: "signed-in", me });
    announce(`Signed in as ${me.role ?? "user"}`, "success");
  };
  const signOut = () => {
    clearKey();
    setSession({ state: "signed-out", note: "You are signed out." });
  };

  if (session.state === "checking") return html`<p class="boot" role="status">Checking your session…</p>`;
  if (session.state === "signed-out")
    return html`<${SignInPage} onSignedIn=${onSignedIn} note=${session.note} /><${Toasts} />`;

  const me = session.me;
  const orgName = me.organisation?.name ?? me.org?.name ?? me.orgName ?? me.orgId ?? "";
  return html`
    <a class="skip-link" href="#main">Skip to content</a>
    <header class="topbar">
      <div class="brand"><${Logo} /> Camel Ops</div>
      <nav aria-label="Main">
        <ul>
          ${NAV.map(
            (n) =>
              html`<li><${Link} href=${n.href} aria-current=${n.match(path) ? "page" : undefined}>${n.label}</${Link}></li>`,
          )}
        </ul>
      </nav>
      <div class="who">
        <span class="org" title="Organisation">${orgName}</span>
        <span class="role" data-testid="role">${me.role}</span>
        <button class="btn btn-ghost" type="button" onClick=${openHelp} aria-keyshortcuts="?">Shortcuts</button>
        <button class="btn btn-ghost" type="button" onClick=${signOut}>Sign out</button>
      </div>
    </header>
    <main id="main" tabindex="-1">${route(path, me)}</main>
    <${ShortcutsDialog} dialogRef=${helpRef} />
    <${Toasts} />
  `;
}

const root = document.getElementById("app");
root.textContent = "";
render(html`<${App} />`, root);
