// Group commit: items from concurrent callers are gathered for a few milliseconds and written by one statement
// (one round trip, one commit) instead of one each; each caller gets its own item's outcome.

export interface GroupCommitOptions<I> {
  /** how long the first item of a batch waits for company */
  windowMs: number;
  /** a batch is written at once when it holds this many items */
  maxItems: number;
  /** items with the same key never share a batch (the later one waits for the next): one row, one writer each */
  keyOf?: (item: I) => string;
}

interface Waiting<I, O> {
  item: I;
  resolve: (o: O) => void;
  reject: (err: unknown) => void;
}

export class GroupCommit<I, O> {
  private readonly write: (items: I[]) => Promise<O[]>;
  private readonly opts: GroupCommitOptions<I>;
  private queue: Waiting<I, O>[] = [];
  private timer: NodeJS.Timeout | undefined;
  readonly stats = { batches: 0, items: 0, largest: 0, retriedAlone: 0 };

  /** `write` returns one outcome per item, in the items' order. */
  constructor(write: (items: I[]) => Promise<O[]>, opts: GroupCommitOptions<I>) {
    this.write = write;
    this.opts = opts;
  }

  add(item: I): Promise<O> {
    return new Promise<O>((resolve, reject) => {
      this.queue.push({ item, resolve, reject });
      if (this.queue.length >= this.opts.maxItems) this.fire();
      else this.timer ??= setTimeout(() => this.fire(), this.opts.windowMs);
    });
  }

  private fire() {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const batch: Waiting<I, O>[] = [];
    const rest: Waiting<I, O>[] = [];
    const keys = new Set<string>();
    for (const w of this.queue) {
      const key = this.opts.keyOf?.(w.item);
      if (batch.length >= this.opts.maxItems || (key !== undefined && keys.has(key))) rest.push(w);
      else {
        if (key !== undefined) keys.add(key);
        batch.push(w);
      }
    }
    this.queue = rest;
    if (rest.length > 0) this.timer = setTimeout(() => this.fire(), this.opts.windowMs);
    if (batch.length === 0) return;
    this.stats.batches++;
    this.stats.items += batch.length;
    this.stats.largest = Math.max(this.stats.largest, batch.length);
    void this.run(batch);
  }

  private async run(batch: Waiting<I, O>[]) {
    try {
      const out = await this.write(batch.map((w) => w.item));
      for (let i = 0; i < batch.length; i++) batch[i]!.resolve(out[i]!);
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        return;
      }
      // One bad item must not fail its neighbours: each is written alone and gets its own outcome.
      this.stats.retriedAlone += batch.length;
      await Promise.all(batch.map((w) => this.run([w])));
    }
  }
}
