// The UI's only way to the API: fetch with the session's Bearer key; errors become ApiError carrying the
// server's `error.message`, which is what the user sees.
const KEY = "camelops.apiKey";

export function getKey() {
  return sessionStorage.getItem(KEY);
}
export function setKey(key) {
  sessionStorage.setItem(KEY, key);
}
export function clearKey() {
  sessionStorage.removeItem(KEY);
}

export class ApiError extends Error {
  constructor(status, code, message, requestId, details) {
    super(message);
    this.name = "ApiError";
    this.status = status;
    this.code = code;
    this.requestId = requestId;
    this.details = details;
  }
}

/**
 * Calls the API. `query` entries that are empty, null or undefined are left out; arrays repeat the key.
 * A 401 on a signed-in session fires `camelops:unauthorized` so the shell can sign out.
 */
export async function api(path, { method = "GET", body, query, key, signal } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query ?? {})) {
    if (v === undefined || v === null || v === "") continue;
    if (Array.isArray(v)) for (const item of v) url.searchParams.append(k, String(item));
    else url.searchParams.set(k, String(v));
  }
  const headers = { accept: "application/json" };
  const bearer = key ?? getKey();
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (body !== undefined) headers["content-type"] = "application/json";
  let res;
  try {
    res = await fetch(url, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), signal });
  } catch (err) {
    if (err?.name === "AbortError") throw err;
    throw new ApiError(0, "NETWORK", "The control plane cannot be reached; check your connection.");
  }
  const text = await res.text();
  let data = null;
  if (text) {
    try {
      data = JSON.parse(text);
    } catch {
      data = null;
    }
  }
  if (!res.ok) {
    const e = data?.error;
    if (res.status === 401 && !key && getKey()) window.dispatchEvent(new CustomEvent("camelops:unauthorized"));
    throw new ApiError(
      res.status,
      e?.code ?? `HTTP_${res.status}`,
      e?.message ?? `${res.status} ${res.statusText || "request failed"}`,
      e?.requestId,
      e?.details,
    );
  }
  return data;
}

/** Fetches every page of a cursor-paginated list (bounded, for small lists such as customers or releases). */
export async function listAll(path, query = {}, maxPages = 20) {
  const items = [];
  let cursor;
  for (let i = 0; i < maxPages; i++) {
    const page = await api(path, { query: { ...query, cursor } });
    const pageItems = Array.isArray(page) ? page : (page?.items ?? []);
    items.push(...pageItems);
    cursor = page?.nextCursor;
    if (!cursor) break;
  }
  return items;
}

/** The ApiError of a failed response that is not read as JSON data (event streams, downloads). */
async function errorOf(res) {
  let e;
  try {
    e = (await res.json())?.error;
  } catch {
    e = undefined;
  }
  return new ApiError(
    res.status,
    e?.code ?? `HTTP_${res.status}`,
    e?.message ?? `${res.status} request failed`,
    e?.requestId,
  );
}

/**
 * Reads a Server-Sent Events endpoint with the session's Bearer key (EventSource cannot send one): calls
 * `onEvent({ event, id, data })` per event until the stream ends or `signal` aborts. Errors as `api` raises them.
 */
export async function readEvents(path, { onEvent, signal, query } = {}) {
  const url = new URL(path, location.origin);
  for (const [k, v] of Object.entries(query ?? {}))
    if (v !== undefined && v !== null) url.searchParams.set(k, String(v));
  const headers = { accept: "text/event-stream" };
  const bearer = getKey();
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  let res;
  try {
    res = await fetch(url, { headers, signal });
  } catch (err) {
    if (err?.name === "AbortError") return;
    throw new ApiError(0, "NETWORK", "The control plane cannot be reached; check your connection.");
  }
  if (!res.ok) throw await errorOf(res);
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buf = "";
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      buf += decoder.decode(value, { stream: true });
      let cut = buf.indexOf("\n\n");
      while (cut >= 0) {
        const block = buf.slice(0, cut);
        buf = buf.slice(cut + 2);
        cut = buf.indexOf("\n\n");
        const ev = { event: "message", id: undefined, data: [] };
        for (const line of block.split("\n")) {
          if (!line || line.startsWith(":")) continue;
          const i = line.indexOf(":");
          const field = i < 0 ? line : line.slice(0, i);
          const val = i < 0 ? "" : line.slice(i + 1).replace(/^ /, "");
          if (field === "event") ev.event = val;
          else if (field === "id") ev.id = val;
          else if (field === "data") ev.data.push(val);
        }
        if (ev.data.length > 0) onEvent({ event: ev.event, id: ev.id, data: ev.data.join("\n") });
      }
    }
  } catch (err) {
    if (err?.name !== "AbortError") throw err;
  }
}

/** Downloads a binary API response (e.g. a support bundle) with the session's key and saves it as a file. */
export async function downloadFile(path, fallbackName) {
  const headers = {};
  const bearer = getKey();
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  const res = await fetch(new URL(path, location.origin), { headers });
  if (!res.ok) throw await errorOf(res);
  const name = /filename="([^"]+)"/.exec(res.headers.get("content-disposition") ?? "")?.[1] ?? fallbackName;
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement("a");
  a.href = url;
  a.download = name;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  return name;
}
