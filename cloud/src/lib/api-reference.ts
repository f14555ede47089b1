// A self-contained API reference page for /docs: renders /openapi.json in the browser with no CDN and no dependency,
// so the reference also works offline and under a strict Content-Security-Policy (script and style are inline).
import { createHash } from "node:crypto";

const script = `
(async () => {
  const root = document.getElementById("app");
  const spec = await (await fetch(document.body.dataset.spec)).json();
  const el = (tag, attrs = {}, ...kids) => {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    for (const kid of kids.flat()) if (kid != null) e.append(kid.nodeType ? kid : String(kid));
    return e;
  };
  const deref = (s, seen = new Set()) => {
    if (!s || typeof s !== "object") return s;
    if (s.$ref) {
      const name = s.$ref.split("/").pop();
      if (seen.has(name)) return { title: name };
      return { title: name, ...deref(spec.components.schemas[name], new Set([...seen, name])) };
    }
    const out = Array.isArray(s) ? [] : {};
    for (const [k, v] of Object.entries(s)) out[k] = deref(v, seen);
    return out;
  };
  const typeOf = (s) => {
    if (!s) return "any";
    if (s.enum) return s.enum.map((v) => JSON.stringify(v)).join(" | ");
    if (s.anyOf || s.oneOf) return (s.anyOf || s.oneOf).map(typeOf).join(" | ");
    if (s.type === "array") return typeOf(s.items) + "[]";
    const t = Array.isArray(s.type) ? s.type.join(" | ") : s.type || "object";
    return (s.title ? s.title + " " : "") + t + (s.format ? " (" + s.format + ")" : "");
  };
  const schemaTree = (s, depth = 0) => {
    s = deref(s);
    if (!s || depth > 6) return el("span", {}, typeOf(s));
    const props = s.properties || (s.type === "array" && s.items && s.items.properties ? s.items.properties : null);
    const required = new Set(s.required || (s.items && s.items.required) || []);
    if (!props) return el("code", {}, typeOf(s));
    return el("ul", { class: "tree" }, Object.entries(props).map(([name, p]) =>
      el("li", {}, el("b", {}, name), required.has(name) ? "" : el("i", {}, " optional"), " ",
        el("code", {}, typeOf(deref(p))), p.description ? el("span", { class: "d" }, " — " + p.description) : "",
        deref(p).properties || (deref(p).items && deref(p).items.properties) ? schemaTree(p, depth + 1) : "")));
  };
  const byTag = new Map();
  for (const [path, ops] of Object.entries(spec.paths || {}))
    for (const [method, op] of Object.entries(ops)) {
      const tag = (op.tags && op.tags[0]) || "Other";
      if (!byTag.has(tag)) byTag.set(tag, []);
      byTag.get(tag).push({ path, method, op });
    }
  const nav = el("nav", {}, el("h1", {}, spec.info.title), el("p", {}, "version " + spec.info.version));
  const main = el("main", {}, el("p", { class: "intro" }, spec.info.description || ""));
  let n = 0;
  for (const [tag, ops] of byTag) {
    nav.append(el("h2", {}, tag));
    main.append(el("h2", {}, tag));
    for (const { path, method, op } of ops) {
      const id = "op" + n++;
      nav.append(el("a", { href: "#" + id }, el("span", { class: "m " + method }, method.toUpperCase()), " ", path));
      const pub = Array.isArray(op.security) && op.security.length === 0;
      const sec = el("section", { id },
        el("h3", {}, el("span", { class: "m " + method }, method.toUpperCase()), " ", el("code", {}, path)),
        el("p", {}, op.summary || ""), el("p", { class: "auth" }, pub ? "Public: no authentication" : "Authorization: Bearer <api key>"));
      if (op.parameters && op.parameters.length)
        sec.append(el("h4", {}, "Parameters"), el("ul", { class: "tree" }, op.parameters.map((p) =>
          el("li", {}, el("b", {}, p.name), " (" + p.in + (p.required ? ", required" : "") + ") ", el("code", {}, typeOf(deref(p.schema))),
            p.schema && p.schema.description ? el("span", { class: "d" }, " — " + p.schema.description) : ""))));
      const body = op.requestBody && op.requestBody.content && op.requestBody.content["application/json"];
      if (body) sec.append(el("h4", {}, "Body (application/json)" + (op.requestBody.required ? "" : ", optional")), schemaTree(body.schema));
      sec.append(el("h4", {}, "Responses"));
      for (const [code, r] of Object.entries(op.responses || {})) {
        const json = r.content && r.content["application/json"];
        const d = el("details", {}, el("summary", {}, el("b", {}, code), " " + (r.description || "")));
        if (json && !code.startsWith("4") && !code.startsWith("5")) { d.open = code.startsWith("2"); d.append(schemaTree(json.schema)); }
        sec.append(d);
      }
      main.append(sec);
    }
  }
  main.append(el("p", { class: "d" }, "Errors share one envelope: { error: { code, message, requestId, details? } }. Raw document: ",
    el("a", { href: document.body.dataset.spec }, document.body.dataset.spec)));
  root.replaceChildren(nav, main);
})().catch((err) => { document.getElementById("app").textContent = "could not load the API document: " + err; });
`;

const style = `
body{margin:0;font:14px/1.5 system-ui,sans-serif;color:#1d2330}#app{display:flex;min-height:100vh}
nav{width:320px;flex:none;background:#f4f5f8;padding:16px;overflow:auto;position:sticky;top:0;height:100vh;box-sizing:border-box}
nav h1{font-size:18px;margin:0}nav h2{font-size:12px;text-transform:uppercase;color:#667;margin:16px 0 4px}
nav a{display:block;color:inherit;text-decoration:none;padding:2px 0;font-size:13px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
main{padding:16px 32px;max-width:960px}section{border-top:1px solid #e3e5ea;padding:8px 0 16px}
h3 code{font-size:15px}.m{display:inline-block;min-width:52px;font:600 11px monospace;text-align:center;border-radius:3px;padding:1px 4px;color:#fff;background:#889}
.m.get{background:#2f7d4f}.m.post{background:#2d5fb8}.m.patch{background:#a06a00}.m.delete{background:#b3322b}.m.put{background:#7a4bb5}
.auth{color:#667;font-size:12px}.tree{list-style:none;padding-left:16px;margin:4px 0}.tree code{color:#2d5fb8}.d{color:#667}
details{margin:2px 0}summary{cursor:pointer}i{color:#889;font-size:12px}
`;

/** The HTML page and the CSP hashes of its inline script and style. */
export function apiReferenceHtml(specUrl: string, title: string): { html: string; csp: string } {
  const sha = (s: string) => `'sha256-${createHash("sha256").update(s).digest("base64")}'`;
  const escaped = specUrl.replace(/[&"<>]/g, (ch) => `&#${ch.charCodeAt(0)};`);
  const html = `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${title}</title><style>${style}</style></head><body data-spec="${escaped}"><div id="app">Loading ${escaped}…</div><script>${script}</script></body></html>`;
  const csp = `default-src 'none'; connect-src 'self'; script-src ${sha(script)}; style-src ${sha(style)}; base-uri 'none'; frame-ancestors 'none'`;
  return { html, csp };
}
