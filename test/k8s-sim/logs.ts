// Container logs that tests write and `pods/log` serves, with followers for `follow=true`.

type Listener = (chunk: string | null) => void;

interface Line {
  at: Date;
  text: string;
}

export interface ReadOptions {
  timestamps?: boolean;
  /** Only lines written at or after this time. */
  since?: Date;
}

/** Splits text into lines that keep their newline (a last fragment may have none). */
function lines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

/** Prefixes each line with an RFC 3339 timestamp, as the kubelet does for `timestamps=true`. */
export function stamp(text: string, at: Date): string {
  const iso = at.toISOString().replace("Z", "000000Z");
  return lines(text)
    .map((l) => `${iso} ${l}`)
    .join("");
}

function key(ns: string, pod: string, container: string): string {
  return `${ns}/${pod}/${container}`;
}

export class LogStore {
  private readonly text = new Map<string, Line[]>();
  private readonly followers = new Map<string, Set<Listener>>();

  append(ns: string, pod: string, container: string, chunk: string): void {
    const k = key(ns, pod, container);
    const at = new Date();
    const all = this.text.get(k) ?? [];
    for (const text of lines(chunk)) all.push({ at, text });
    this.text.set(k, all);
    for (const fn of this.followers.get(k) ?? []) fn(chunk);
  }

  read(ns: string, pod: string, container: string, opts: ReadOptions = {}): string {
    return (this.text.get(key(ns, pod, container)) ?? [])
      .filter((l) => !opts.since || l.at >= opts.since)
      .map((l) => (opts.timestamps ? stamp(l.text, l.at) : l.text))
      .join("");
  }

  /** Ends every follower of a pod's containers (the pod finished or went away). */
  close(ns: string, pod: string): void {
    const prefix = `${ns}/${pod}/`;
    for (const [k, set] of this.followers) {
      if (!k.startsWith(prefix)) continue;
      for (const fn of set) fn(null);
      this.followers.delete(k);
    }
  }

  forget(ns: string, pod: string): void {
    this.close(ns, pod);
    const prefix = `${ns}/${pod}/`;
    for (const k of [...this.text.keys()]) if (k.startsWith(prefix)) this.text.delete(k);
  }

  follow(ns: string, pod: string, container: string, fn: Listener): () => void {
    const k = key(ns, pod, container);
    const set = this.followers.get(k) ?? new Set<Listener>();
    this.followers.set(k, set);
    set.add(fn);
    return () => set.delete(fn);
  }

  closeAll(): void {
    for (const set of this.followers.values()) for (const fn of set) fn(null);
    this.followers.clear();
  }
}

/** The last `n` lines of a text (a trailing newline does not count as a line). */
export function tail(text: string, n: number): string {
  if (n < 0) return text;
  if (n === 0) return "";
  const lines = text.split("\n");
  const trailing = lines[lines.length - 1] === "";
  if (trailing) lines.pop();
  return lines.slice(-n).join("\n") + (trailing && lines.length ? "\n" : "");
}
