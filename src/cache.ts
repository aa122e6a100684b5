// A small per-process cache with a time to live and a size bound, for facts read on the hot path
// that change rarely (and where a change made through another process may show within the TTL).
export class TtlCache<K, V> {
  private readonly entries = new Map<K, { value: V; expires_ms: number }>();

  constructor(private readonly ttl_ms: number, private readonly size_max: number) {}

  /** `found: false` when absent or expired (a cached `undefined` is a found value). */
  get(key: K): { found: true; value: V } | { found: false } {
    const entry = this.entries.get(key);
    return entry && entry.expires_ms > Date.now() ? { found: true, value: entry.value } : { found: false };
  }

  set(key: K, value: V): void {
    if (this.entries.size >= this.size_max) this.entries.clear();
    this.entries.set(key, { value, expires_ms: Date.now() + this.ttl_ms });
  }

  delete(key: K): void {
    this.entries.delete(key);
  }

  clear(): void {
    this.entries.clear();
  }

  async getOrLoad(key: K, load: () => Promise<V>): Promise<V> {
    const cached = this.get(key);
    if (cached.found) return cached.value;
    const value = await load();
    this.set(key, value);
    return value;
  }
}
