// Container logs that tests write and `pods/log` serves, with followers for `follow=true`.

type Listener = (chunk: string | null) => void;

function key(ns: string, pod: string, container: string): string {
  return `${ns}/${pod}/${container}`;
}

export class LogStore {
  private readonly text = new Map<string, string>();
  private readonly followers = new Map<string, Set<Listener>>();

  append(ns: string, pod: string, container: string, chunk: string): void {
    const k = key(ns, pod, container);
    this.text.set(k, (this.text.get(k) ?? "") + chunk);
    for (const fn of this.followers.get(k) ?? []) fn(chunk);
  }

  read(ns: string, pod: string, container: string): string {
    return this.text.get(key(ns, pod, container)) ?? "";
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
