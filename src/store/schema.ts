// The one schema, applied in numbered steps on both backends. `{big}` is the 64-bit integer type.
import type { Queryable } from "./db.ts";

interface MigrationTarget extends Queryable {
  dialect: "sqlite" | "postgres";
  exec(sql: string): Promise<void>;
}

const migrations: string[] = [
  `
  CREATE TABLE merchants (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    country TEXT NOT NULL,
    default_currency TEXT NOT NULL,
    created_ms {big} NOT NULL
  );
  CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    kind TEXT NOT NULL CHECK (kind IN ('secret', 'publishable')),
    key_hash TEXT NOT NULL UNIQUE,
    key_hint TEXT NOT NULL,
    created_ms {big} NOT NULL,
    revoked_ms {big}
  );
  CREATE TABLE idempotency_keys (
    merchant_id TEXT NOT NULL,
    idem_key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('in_flight', 'done')),
    response_status INTEGER,
    response_body TEXT,
    locked_until_ms {big} NOT NULL DEFAULT 0,
    created_ms {big} NOT NULL,
    PRIMARY KEY (merchant_id, idem_key)
  );
  CREATE INDEX idempotency_keys_created ON idempotency_keys (created_ms);
  CREATE TABLE vault_cards (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    key_id TEXT NOT NULL,
    iv TEXT NOT NULL,
    ciphertext TEXT NOT NULL,
    auth_tag TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    bin TEXT NOT NULL,
    last4 TEXT NOT NULL,
    brand TEXT NOT NULL,
    exp_month INTEGER NOT NULL,
    exp_year INTEGER NOT NULL,
    bin_country TEXT,
    issuer TEXT,
    funding TEXT,
    created_ms {big} NOT NULL
  );
  CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    status TEXT NOT NULL,
    amount {big} NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    capture_method TEXT NOT NULL,
    amount_capturable {big} NOT NULL,
    amount_received {big} NOT NULL,
    amount_refunded {big} NOT NULL,
    card_id TEXT REFERENCES vault_cards(id),
    channel TEXT,
    customer TEXT,
    description TEXT,
    metadata TEXT NOT NULL,
    last_error TEXT,
    next_action TEXT,
    return_url TEXT,
    cancel_requested SMALLINT NOT NULL DEFAULT 0,
    cancellation_reason TEXT,
    idempotency_key TEXT,
    created_ms {big} NOT NULL,
    updated_ms {big} NOT NULL,
    UNIQUE (merchant_id, idempotency_key),
    CHECK (amount_received + amount_capturable <= amount),
    CHECK (amount_refunded <= amount_received)
  );
  CREATE INDEX payments_merchant ON payments (merchant_id, id);
  CREATE TABLE attempts (
    id TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments(id),
    merchant_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    amount {big} NOT NULL,
    currency TEXT NOT NULL,
    capture SMALLINT NOT NULL,
    channel_reference TEXT,
    decline_code TEXT,
    decline_category TEXT,
    raw_code TEXT,
    network_response_code TEXT,
    latency_ms INTEGER,
    routing_reason TEXT NOT NULL,
    inquiries INTEGER NOT NULL DEFAULT 0,
    next_inquiry_ms {big},
    authorization_expires_ms {big},
    created_ms {big} NOT NULL,
    updated_ms {big} NOT NULL
  );
  CREATE INDEX attempts_payment ON attempts (payment_id);
  CREATE INDEX attempts_authorization_expiry ON attempts (authorization_expires_ms) WHERE status = 'authorized';
  CREATE INDEX attempts_inquiry ON attempts (next_inquiry_ms) WHERE next_inquiry_ms IS NOT NULL;
  CREATE TABLE operations (
    id TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments(id),
    attempt_id TEXT NOT NULL REFERENCES attempts(id),
    kind TEXT NOT NULL CHECK (kind IN ('capture', 'void')),
    amount {big} NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed', 'unknown')),
    inquiries INTEGER NOT NULL DEFAULT 0,
    next_inquiry_ms {big},
    created_ms {big} NOT NULL,
    updated_ms {big} NOT NULL
  );
  CREATE INDEX operations_inquiry ON operations (next_inquiry_ms) WHERE next_inquiry_ms IS NOT NULL;
  CREATE TABLE refunds (
    id TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments(id),
    merchant_id TEXT NOT NULL,
    attempt_id TEXT NOT NULL REFERENCES attempts(id),
    amount {big} NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    reason TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    failure_reason TEXT,
    ledger_pending_id TEXT NOT NULL,
    metadata TEXT NOT NULL,
    idempotency_key TEXT,
    inquiries INTEGER NOT NULL DEFAULT 0,
    next_inquiry_ms {big},
    created_ms {big} NOT NULL,
    updated_ms {big} NOT NULL
  );
  CREATE INDEX refunds_payment ON refunds (payment_id);
  CREATE UNIQUE INDEX refunds_idempotency ON refunds (merchant_id, idempotency_key);
  CREATE INDEX refunds_inquiry ON refunds (next_inquiry_ms) WHERE next_inquiry_ms IS NOT NULL;
  CREATE TABLE ledger_accounts (
    id TEXT PRIMARY KEY,
    owner TEXT NOT NULL,
    currency TEXT NOT NULL,
    purpose TEXT NOT NULL,
    flags INTEGER NOT NULL,
    created_ms {big} NOT NULL,
    UNIQUE (owner, currency, purpose)
  );
  CREATE TABLE ledger_transfers (
    id TEXT PRIMARY KEY,
    debit_account_id TEXT NOT NULL REFERENCES ledger_accounts(id),
    credit_account_id TEXT NOT NULL REFERENCES ledger_accounts(id),
    amount {big} NOT NULL CHECK (amount >= 0),
    currency TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('posted', 'pending', 'post_pending', 'void_pending')),
    pending_id TEXT UNIQUE REFERENCES ledger_transfers(id),
    pending_amount {big} NOT NULL DEFAULT 0,
    code TEXT NOT NULL,
    ref TEXT NOT NULL,
    linked_id TEXT,
    created_ms {big} NOT NULL,
    CHECK (debit_account_id <> credit_account_id),
    CHECK ((kind IN ('post_pending', 'void_pending')) = (pending_id IS NOT NULL))
  );
  CREATE INDEX ledger_transfers_debit ON ledger_transfers (debit_account_id);
  CREATE INDEX ledger_transfers_credit ON ledger_transfers (credit_account_id);
  CREATE INDEX ledger_transfers_ref ON ledger_transfers (ref);
  CREATE TABLE events (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL,
    type TEXT NOT NULL,
    object_id TEXT NOT NULL,
    data TEXT NOT NULL,
    created_ms {big} NOT NULL,
    fanned_out SMALLINT NOT NULL DEFAULT 0
  );
  CREATE INDEX events_merchant ON events (merchant_id, id);
  CREATE INDEX events_fan_out ON events (fanned_out, id) WHERE fanned_out = 0;
  CREATE TABLE webhook_endpoints (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    url TEXT NOT NULL,
    enabled_events TEXT NOT NULL,
    secret TEXT NOT NULL,
    status TEXT NOT NULL,
    created_ms {big} NOT NULL
  );
  CREATE INDEX webhook_endpoints_merchant ON webhook_endpoints (merchant_id);
  CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    event_id TEXT NOT NULL REFERENCES events(id),
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id),
    status TEXT NOT NULL CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_ms {big},
    locked_until_ms {big} NOT NULL DEFAULT 0,
    last_response_status INTEGER,
    last_error TEXT,
    created_ms {big} NOT NULL,
    delivered_ms {big},
    UNIQUE (event_id, endpoint_id)
  );
  CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_ms) WHERE status = 'pending';
  CREATE TABLE routing_configs (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    version INTEGER NOT NULL,
    config TEXT NOT NULL,
    created_ms {big} NOT NULL,
    PRIMARY KEY (merchant_id, version)
  );
  CREATE TABLE bin_ranges (
    prefix TEXT PRIMARY KEY,
    country TEXT,
    funding TEXT,
    issuer TEXT,
    created_ms {big} NOT NULL
  );
  `,
  // Channel-performance metrics (src/metrics): one sample per attempt outcome, and channel health
  // transitions. No foreign keys: a sample is written on the payment hot path and must stay cheap.
  `
  CREATE TABLE attempt_samples (
    attempt_id TEXT NOT NULL,
    payment_id TEXT NOT NULL,
    merchant_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    method_family TEXT NOT NULL,
    brand TEXT,
    bin_country TEXT,
    issuer TEXT,
    card_type TEXT,
    currency TEXT NOT NULL,
    amount {big} NOT NULL,
    amount_band TEXT NOT NULL,
    outcome TEXT NOT NULL CHECK (outcome IN ('approved', 'soft_decline', 'hard_decline', 'technical_error', 'unknown')),
    decline_code TEXT,
    latency_ms INTEGER,
    cost_minor {big},
    created_ms {big} NOT NULL,
    PRIMARY KEY (payment_id, attempt_id)
  );
  CREATE INDEX attempt_samples_merchant_time ON attempt_samples (merchant_id, created_ms);
  CREATE INDEX attempt_samples_channel_time ON attempt_samples (channel, created_ms);
  CREATE INDEX attempt_samples_time ON attempt_samples (created_ms);
  CREATE TABLE channel_health_events (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    seq INTEGER NOT NULL,
    state TEXT NOT NULL CHECK (state IN ('degraded', 'recovered')),
    recent_attempts INTEGER NOT NULL,
    recent_approved INTEGER NOT NULL,
    baseline_attempts INTEGER NOT NULL,
    baseline_approved INTEGER NOT NULL,
    z_score TEXT NOT NULL,
    merchant_ids TEXT NOT NULL,
    window_start_ms {big} NOT NULL,
    created_ms {big} NOT NULL,
    UNIQUE (channel, seq)
  );
  `,
  // Smart routing: each attempt keeps the strategy that chose it and the scores it saw.
  `
  ALTER TABLE attempts ADD COLUMN routing_strategy TEXT;
  ALTER TABLE attempts ADD COLUMN routing_scores TEXT;
  `,
  // Bank transfers (src/methods/bank-transfer): the method of a payment, its instructions, the
  // merchant's policy for wrong amounts, when the instructions expire, and what is owed back to the
  // customer; every transfer received, once (the channel's transfer id is the key).
  `
  ALTER TABLE payments ADD COLUMN method_type TEXT;
  ALTER TABLE payments ADD COLUMN bank_transfer_instructions TEXT;
  ALTER TABLE payments ADD COLUMN amount_mismatch_policy TEXT;
  ALTER TABLE payments ADD COLUMN expires_ms {big};
  ALTER TABLE payments ADD COLUMN amount_refund_due {big} NOT NULL DEFAULT 0;
  CREATE INDEX payments_bank_transfer_open ON payments (expires_ms) WHERE method_type = 'bank_transfer';
  CREATE TABLE bank_transfers_received (
    channel TEXT NOT NULL,
    transfer_id TEXT NOT NULL,
    payment_id TEXT NOT NULL REFERENCES payments(id),
    attempt_id TEXT NOT NULL REFERENCES attempts(id),
    amount {big} NOT NULL CHECK (amount > 0),
    amount_applied {big} NOT NULL,
    amount_refund_due {big} NOT NULL,
    disposition TEXT NOT NULL,
    received_ms {big} NOT NULL,
    created_ms {big} NOT NULL,
    PRIMARY KEY (channel, transfer_id)
  );
  CREATE INDEX bank_transfers_received_payment ON bank_transfers_received (payment_id);
  `,
  // Card disputes: one row per dispute the channel reported (its id is the key, so a repeated
  // notification finds the row); what is currently debited from the merchant for it, and the
  // channel's sequence number of the last state applied.
  `
  CREATE TABLE disputes (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    payment_id TEXT NOT NULL REFERENCES payments(id),
    attempt_id TEXT NOT NULL REFERENCES attempts(id),
    channel TEXT NOT NULL,
    channel_dispute_id TEXT NOT NULL,
    amount {big} NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    reason_code TEXT NOT NULL,
    network TEXT NOT NULL,
    stage TEXT NOT NULL,
    status TEXT NOT NULL,
    evidence_due_ms {big} NOT NULL,
    evidence TEXT,
    fee {big} NOT NULL,
    amount_debited {big} NOT NULL CHECK (amount_debited >= 0),
    channel_sequence {big} NOT NULL,
    created_ms {big} NOT NULL,
    updated_ms {big} NOT NULL,
    UNIQUE (channel, channel_dispute_id)
  );
  CREATE INDEX disputes_merchant ON disputes (merchant_id, id);
  CREATE INDEX disputes_payment ON disputes (payment_id);
  ALTER TABLE payments ADD COLUMN amount_disputed {big} NOT NULL DEFAULT 0;
  `,
  // Method families beyond cards and bank transfers (wallets, BNPL, direct debit): what the family
  // shows of the method (JSON: the wallet provider, the installment plan, the masked account), the
  // mandate a debit was collected under, and open payments by expiry for every family.
  `
  ALTER TABLE payments ADD COLUMN method_details TEXT;
  ALTER TABLE payments ADD COLUMN mandate_id TEXT;
  CREATE INDEX payments_open_expiry ON payments (expires_ms) WHERE expires_ms IS NOT NULL AND status IN ('requires_action', 'processing');
  CREATE INDEX payments_mandate ON payments (mandate_id) WHERE mandate_id IS NOT NULL;
  `,
  // 7: e-wallets (src/methods/wallet): the wallet account an app push goes to (kept to open the
  // order again when its first answer was lost; shown masked), and an index for the wallet janitor
  // to find open and reversing attempts of its channel without a scan.
  `
  ALTER TABLE payments ADD COLUMN wallet_phone TEXT;
  CREATE INDEX attempts_open_by_channel ON attempts (channel, status) WHERE status IN ('pending', 'requires_action', 'reversing');
  `,
  // 8: direct debit (src/methods/direct-debit): mandates, one row per presentment of a debit, and
  // the returns applied (keyed by the channel's return id, so a repeated notice never posts twice).
  `
  CREATE TABLE mandates (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    scheme TEXT NOT NULL CHECK (scheme IN ('sepa_core', 'sepa_b2b', 'ach')),
    status TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'revoked', 'lapsed')),
    status_reason TEXT,
    currency TEXT NOT NULL,
    reference TEXT NOT NULL UNIQUE,
    account_holder_name TEXT NOT NULL,
    iban TEXT,
    bic TEXT,
    routing_number TEXT,
    account_number TEXT,
    account_type TEXT,
    last4 TEXT NOT NULL,
    customer TEXT,
    metadata TEXT,
    accepted_ms {big} NOT NULL,
    last_collection_ms {big},
    created_ms {big} NOT NULL,
    updated_ms {big} NOT NULL
  );
  CREATE INDEX mandates_merchant ON mandates (merchant_id, id);
  CREATE INDEX mandates_active_use ON mandates (last_collection_ms) WHERE status = 'active';
  CREATE TABLE debits (
    attempt_id TEXT PRIMARY KEY,
    payment_id TEXT NOT NULL REFERENCES payments(id),
    mandate_id TEXT NOT NULL REFERENCES mandates(id),
    merchant_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    presentment INTEGER NOT NULL CHECK (presentment BETWEEN 1 AND 3),
    sequence_type TEXT,
    status TEXT NOT NULL CHECK (status IN ('submitting', 'pending', 'settled', 'returned', 'failed')),
    amount {big} NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    collection_date TEXT NOT NULL,
    channel_reference TEXT,
    settled_ms {big},
    checks INTEGER NOT NULL DEFAULT 0,
    next_check_ms {big},
    created_ms {big} NOT NULL,
    updated_ms {big} NOT NULL,
    UNIQUE (payment_id, presentment)
  );
  CREATE INDEX debits_due ON debits (next_check_ms) WHERE next_check_ms IS NOT NULL;
  CREATE INDEX debits_mandate ON debits (mandate_id);
  CREATE INDEX debits_batch ON debits (merchant_id, collection_date);
  CREATE TABLE debit_returns (
    channel TEXT NOT NULL,
    return_id TEXT NOT NULL,
    attempt_id TEXT NOT NULL REFERENCES debits(attempt_id),
    payment_id TEXT NOT NULL,
    reason_code TEXT NOT NULL,
    amount {big} NOT NULL CHECK (amount > 0),
    after_settlement INTEGER NOT NULL,
    returned_ms {big} NOT NULL,
    created_ms {big} NOT NULL,
    PRIMARY KEY (channel, return_id)
  );
  `,
  // 9: BNPL (src/methods/bnpl): nothing new — the plan and provider live in payments.method_details,
  // and the janitor finds open checkouts through attempts_open_by_channel (7).
  `SELECT 1;`,
  // Refunds paid out to a customer's bank account (bank transfers, debits): where, masked; and
  // money received that was never the merchant's (a wrong amount, a transfer after expiry) paid back
  // to the account it came from: a refund of kind 'return_of_funds' per such transfer.
  `
  ALTER TABLE refunds ADD COLUMN destination TEXT;
  ALTER TABLE refunds ADD COLUMN kind TEXT NOT NULL DEFAULT 'refund';
  ALTER TABLE bank_transfers_received ADD COLUMN sender TEXT;
  ALTER TABLE bank_transfers_received ADD COLUMN return_refund_id TEXT;
  CREATE INDEX bank_transfers_owed ON bank_transfers_received (created_ms) WHERE amount_refund_due > 0 AND return_refund_id IS NULL;
  `,
  // Reusable virtual accounts (src/methods/bank-transfer/virtual-accounts.ts): a customer's VA or
  // CLABE, open or closed amount, single or multi use, opened at the bank once (bank_state); every
  // transfer into it becomes a payment linked by virtual_account_id. next_inquiry_ms: when the
  // janitor asks the bank again (lost notifications, a lost opening answer).
  `
  CREATE TABLE virtual_accounts (
    id TEXT PRIMARY KEY,
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    country TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('id_virtual_account', 'mx_clabe')),
    bank TEXT NOT NULL,
    account TEXT NOT NULL UNIQUE,
    currency TEXT NOT NULL,
    customer TEXT NOT NULL,
    amount_type TEXT NOT NULL CHECK (amount_type IN ('open', 'closed')),
    amount {big} CHECK (amount IS NULL OR amount > 0),
    usage TEXT NOT NULL CHECK (usage IN ('multi_use', 'single_use')),
    status TEXT NOT NULL CHECK (status IN ('active', 'inactive', 'expired')),
    status_reason TEXT,
    channel TEXT NOT NULL,
    bank_state TEXT NOT NULL CHECK (bank_state IN ('pending', 'opened', 'failed')),
    channel_reference TEXT,
    expires_ms {big},
    payments_count INTEGER NOT NULL DEFAULT 0,
    metadata TEXT NOT NULL,
    next_inquiry_ms {big},
    quiet_inquiries INTEGER NOT NULL DEFAULT 0,
    closed_ms {big},
    created_ms {big} NOT NULL,
    updated_ms {big} NOT NULL,
    CHECK ((amount_type = 'closed') = (amount IS NOT NULL))
  );
  CREATE INDEX virtual_accounts_merchant ON virtual_accounts (merchant_id, id);
  CREATE INDEX virtual_accounts_due ON virtual_accounts (next_inquiry_ms) WHERE next_inquiry_ms IS NOT NULL;
  CREATE INDEX virtual_accounts_expiry ON virtual_accounts (expires_ms) WHERE status = 'active';
  ALTER TABLE payments ADD COLUMN virtual_account_id TEXT REFERENCES virtual_accounts(id);
  CREATE INDEX payments_virtual_account ON payments (virtual_account_id) WHERE virtual_account_id IS NOT NULL;
  `,
  // 12: stored ledger balances (src/ledger/ledger.ts): each account's balance as sub-balances
  // ("shards", summed on read) updated in the transaction of every transfer, and on each transfer
  // the resulting balance of the shard it changed on either side (NULL for transfers written
  // before balances were stored). Backfilled from the existing transfers into shard 0.
  `
  CREATE TABLE ledger_balance_shards (
    account_id TEXT NOT NULL REFERENCES ledger_accounts(id),
    shard INTEGER NOT NULL CHECK (shard >= 0),
    debits_pending {big} NOT NULL DEFAULT 0,
    debits_posted {big} NOT NULL DEFAULT 0,
    credits_pending {big} NOT NULL DEFAULT 0,
    credits_posted {big} NOT NULL DEFAULT 0,
    PRIMARY KEY (account_id, shard)
  );
  ALTER TABLE ledger_transfers ADD COLUMN debit_shard INTEGER;
  ALTER TABLE ledger_transfers ADD COLUMN debit_debits_pending_after {big};
  ALTER TABLE ledger_transfers ADD COLUMN debit_debits_posted_after {big};
  ALTER TABLE ledger_transfers ADD COLUMN debit_credits_pending_after {big};
  ALTER TABLE ledger_transfers ADD COLUMN debit_credits_posted_after {big};
  ALTER TABLE ledger_transfers ADD COLUMN credit_shard INTEGER;
  ALTER TABLE ledger_transfers ADD COLUMN credit_debits_pending_after {big};
  ALTER TABLE ledger_transfers ADD COLUMN credit_debits_posted_after {big};
  ALTER TABLE ledger_transfers ADD COLUMN credit_credits_pending_after {big};
  ALTER TABLE ledger_transfers ADD COLUMN credit_credits_posted_after {big};
  INSERT INTO ledger_balance_shards (account_id, shard, debits_pending, debits_posted, credits_pending, credits_posted)
  SELECT a.id, 0, COALESCE(d.pending, 0), COALESCE(d.posted, 0), COALESCE(c.pending, 0), COALESCE(c.posted, 0)
  FROM ledger_accounts a
  LEFT JOIN (
    SELECT debit_account_id AS account_id,
      SUM(CASE WHEN kind = 'pending' THEN amount WHEN kind IN ('post_pending', 'void_pending') THEN -pending_amount ELSE 0 END) AS pending,
      SUM(CASE WHEN kind IN ('posted', 'post_pending') THEN amount ELSE 0 END) AS posted
    FROM ledger_transfers GROUP BY debit_account_id
  ) d ON d.account_id = a.id
  LEFT JOIN (
    SELECT credit_account_id AS account_id,
      SUM(CASE WHEN kind = 'pending' THEN amount WHEN kind IN ('post_pending', 'void_pending') THEN -pending_amount ELSE 0 END) AS pending,
      SUM(CASE WHEN kind IN ('posted', 'post_pending') THEN amount ELSE 0 END) AS posted
    FROM ledger_transfers GROUP BY credit_account_id
  ) c ON c.account_id = a.id;
  `,
  // Settlement and reconciliation (src/settlement): files as received (rejected ones too, with their
  // errors), their lines, batches, bank-statement entries, exceptions, per-merchant pricing
  // (versioned: a line keeps the version it was priced with), per-channel reconciliation state.
  `
  CREATE TABLE settlement_files (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('channel_report', 'bank_statement')),
    filename TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('imported', 'duplicate', 'rejected')),
    lines INTEGER NOT NULL,
    errors TEXT NOT NULL,
    duplicate_of TEXT,
    source TEXT NOT NULL CHECK (source IN ('upload', 'fetch')),
    source_file_id TEXT,
    created_ms {big} NOT NULL
  );
  CREATE UNIQUE INDEX settlement_files_imported ON settlement_files (channel, sha256) WHERE status = 'imported';
  CREATE INDEX settlement_files_source ON settlement_files (channel, source_file_id) WHERE source_file_id IS NOT NULL;
  CREATE TABLE settlement_batches (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    batch_number TEXT NOT NULL,
    currency TEXT NOT NULL,
    file_id TEXT NOT NULL REFERENCES settlement_files(id),
    booking_date TEXT NOT NULL,
    gross {big} NOT NULL,
    interchange {big} NOT NULL,
    scheme_fees {big} NOT NULL,
    markup {big} NOT NULL,
    commission {big} NOT NULL,
    net {big} NOT NULL,
    lines INTEGER NOT NULL,
    matched_lines INTEGER NOT NULL,
    funded_by TEXT,
    funded_ms {big},
    created_ms {big} NOT NULL,
    UNIQUE (channel, batch_number, currency)
  );
  CREATE INDEX settlement_batches_unfunded ON settlement_batches (channel, booking_date) WHERE funded_by IS NULL;
  CREATE TABLE settlement_lines (
    file_id TEXT NOT NULL REFERENCES settlement_files(id),
    line INTEGER NOT NULL,
    channel TEXT NOT NULL,
    batch_id TEXT NOT NULL,
    type TEXT NOT NULL,
    merchant_reference TEXT,
    channel_reference TEXT,
    booking_date TEXT NOT NULL,
    currency TEXT NOT NULL,
    gross {big} NOT NULL,
    net_currency TEXT NOT NULL,
    net {big} NOT NULL,
    interchange {big} NOT NULL,
    scheme_fees {big} NOT NULL,
    markup {big} NOT NULL,
    commission {big} NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('matched', 'exception', 'resolved')),
    match_kind TEXT,
    match_id TEXT,
    payment_id TEXT,
    merchant_id TEXT,
    expected_amount {big},
    merchant_fee {big} NOT NULL DEFAULT 0,
    pricing_version INTEGER,
    booked SMALLINT NOT NULL DEFAULT 0,
    created_ms {big} NOT NULL,
    PRIMARY KEY (file_id, line)
  );
  CREATE INDEX settlement_lines_match ON settlement_lines (match_kind, match_id);
  CREATE INDEX settlement_lines_batch ON settlement_lines (batch_id);
  CREATE TABLE bank_statement_entries (
    id TEXT PRIMARY KEY,
    file_id TEXT NOT NULL REFERENCES settlement_files(id),
    line INTEGER NOT NULL,
    bank TEXT NOT NULL,
    entry_reference TEXT NOT NULL,
    booking_date TEXT NOT NULL,
    value_date TEXT NOT NULL,
    direction TEXT NOT NULL CHECK (direction IN ('credit', 'debit')),
    amount {big} NOT NULL CHECK (amount > 0),
    currency TEXT NOT NULL,
    counterparty TEXT,
    remittance TEXT,
    channel TEXT,
    batch_numbers TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('unmatched', 'matched', 'resolved')),
    created_ms {big} NOT NULL,
    UNIQUE (bank, entry_reference)
  );
  CREATE INDEX bank_statement_entries_unmatched ON bank_statement_entries (booking_date) WHERE status = 'unmatched';
  CREATE TABLE reconciliation_exceptions (
    id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    channel TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('open', 'resolved')),
    subject TEXT NOT NULL UNIQUE,
    file_id TEXT,
    line INTEGER,
    batch_id TEXT,
    entry_id TEXT,
    payment_id TEXT,
    attempt_id TEXT,
    merchant_id TEXT,
    reference TEXT,
    currency TEXT,
    expected_amount {big},
    reported_amount {big},
    details TEXT NOT NULL,
    resolution TEXT,
    resolved_ms {big},
    created_ms {big} NOT NULL
  );
  CREATE INDEX reconciliation_exceptions_list ON reconciliation_exceptions (status, id);
  CREATE TABLE reconciliation_runs (
    id TEXT PRIMARY KEY,
    channel TEXT,
    as_of_ms {big} NOT NULL,
    triggered_by TEXT NOT NULL,
    summary TEXT NOT NULL,
    created_ms {big} NOT NULL
  );
  CREATE TABLE reconciliation_channels (
    channel TEXT PRIMARY KEY,
    captures_checked_through_ms {big} NOT NULL,
    updated_ms {big} NOT NULL
  );
  CREATE TABLE merchant_pricing (
    merchant_id TEXT NOT NULL REFERENCES merchants(id),
    version INTEGER NOT NULL,
    model TEXT NOT NULL CHECK (model IN ('blended', 'interchange_plus')),
    percent_bps INTEGER NOT NULL,
    fixed_amount {big} NOT NULL,
    currency TEXT NOT NULL,
    created_ms {big} NOT NULL,
    PRIMARY KEY (merchant_id, version)
  );
  CREATE INDEX ledger_transfers_capture_time ON ledger_transfers (created_ms) WHERE code = 'capture';
  `,
  // 14: report lines that carry only the channel's reference find their attempt by index; earlier
  // matches are found by match id first (every look-up names the ids; led by the kind, PostgreSQL
  // scanned every line of a kind whenever its statistics underrated that kind).
  `
  CREATE INDEX attempts_channel_reference ON attempts (channel, channel_reference) WHERE channel_reference IS NOT NULL;
  DROP INDEX settlement_lines_match;
  CREATE INDEX settlement_lines_match ON settlement_lines (match_id, match_kind);
  `,
  // 15: refunds no report carries (missing_in_report, src/settlement/runs.ts): how far each channel's
  // succeeded refunds are checked, the refund postings by time, and the refunds an operator settled
  // without a line (a line that carries one later supersedes that resolution, so it is booked once).
  // Every statement may run again harmlessly.
  `
  CREATE TABLE IF NOT EXISTS reconciliation_refund_watermarks (
    channel TEXT PRIMARY KEY,
    refunds_checked_through_ms {big} NOT NULL,
    updated_ms {big} NOT NULL
  );
  CREATE INDEX IF NOT EXISTS ledger_transfers_refund_time ON ledger_transfers (created_ms) WHERE code = 'refund';
  CREATE TABLE IF NOT EXISTS refunds_resolved_without_line (
    refund_id TEXT PRIMARY KEY,
    exception_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    created_ms {big} NOT NULL
  );
  `,
  // 16: each report line keeps the exchange rate the channel converted it at ("1": not converted).
  `
  ALTER TABLE settlement_lines ADD COLUMN exchange_rate TEXT NOT NULL DEFAULT '1';
  `,
];

export async function migrate(target: MigrationTarget): Promise<void> {
  const big = target.dialect === "postgres" ? "BIGINT" : "INTEGER";
  await target.exec("CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY)");
  const applied = await target.all<{ version: number }>("SELECT version FROM schema_migrations");
  const done = new Set(applied.map((row) => Number(row.version)));
  for (const [index, sql] of migrations.entries()) {
    const version = index + 1;
    if (done.has(version)) continue;
    await target.exec("BEGIN");
    await target.exec(sql.replaceAll("{big}", big));
    await target.run("INSERT INTO schema_migrations (version) VALUES (?)", [version]);
    await target.exec("COMMIT");
  }
}
