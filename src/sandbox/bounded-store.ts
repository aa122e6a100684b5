// An in-memory record store with a hard capacity: the oldest entry is evicted first.

export const DEFAULT_RECORD_CAPACITY = 1_000_000;

export class BoundedStore<V> {
  private readonly entries = new Map<string, V>();

  constructor(private readonly capacity: number = DEFAULT_RECORD_CAPACITY) {
    if (!Number.isSafeInteger(capacity) || capacity < 1) throw new Error("programmer error: capacity must be a positive integer");
  }

  get(key: string): V | undefined {
    return this.entries.get(key);
  }

  set(key: string, value: V): void {
    if (!this.entries.has(key) && this.entries.size >= this.capacity) this.evictOldest();
    this.entries.set(key, value);
  }

  values(): IterableIterator<V> {
    return this.entries.values();
  }

  get size(): number {
    return this.entries.size;
  }

  private evictOldest(): void {
    const oldest = this.entries.keys().next();
    if (!oldest.done) this.entries.delete(oldest.value);
  }
}
