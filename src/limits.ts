// Every loop, queue, retry and page has a named maximum, kept here. Units go last.

export const limits = {
  /** Attempts (channels tried) for one payment, the first included. */
  attempts_per_payment_max: 3,
  /** Transactions merged into one durable SQLite commit. */
  group_commit_batch_max: 512,
  /** Rows in one page of a list endpoint. */
  list_page_size_max: 100,
  list_page_size_default: 10,
  /** Request body size. */
  request_body_bytes_max: 64 * 1024,
  /** Metadata: keys, key length, value length. */
  metadata_keys_max: 50,
  metadata_key_length_max: 40,
  metadata_value_length_max: 500,
  /** Idempotency keys: length, and how long they are kept. */
  idempotency_key_length_max: 255,
  idempotency_key_retention_ms: 48 * 3600 * 1000,
  /** Largest amount in minor units accepted for one payment. */
  amount_minor_max: 99_999_999_999,
  /** Routing rules per merchant and channels per list. */
  routing_rules_max: 100,
  routing_channels_per_rule_max: 10,
  /** Janitor: rows handled per tick and inquiries per unknown operation before alerting. */
  janitor_batch_max: 100,
  janitor_inquiries_max: 50,
  /** Webhook delivery: rows per tick, tries per delivery (about 3 days with the backoff). */
  webhook_batch_max: 50,
  webhook_attempts_max: 15,
  webhook_timeout_ms: 10_000,
  webhook_endpoints_per_merchant_max: 16,
  /** Transaction retries on PostgreSQL serialization failures and deadlocks. */
  transaction_retries_max: 5,
} as const;

export function assert(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(`assertion failed: ${message}`);
}
