// Per-channel settlement terms: when a channel is expected to report and pay, and how far its
// figures may differ before they are exceptions. Limits for the settlement jobs live here too.

export interface SettlementTerms {
  /** A capture appears in the report of its capture day + this many days (UTC). */
  settlement_delay_days: number;
  /** A batch is paid to the platform bank account this many days after its booking date. */
  payout_delay_days: number;
  /** Days past an expected date before a missing line or payment is an exception. */
  grace_days: number;
  /** A line whose gross differs from Corridor's amount by at most this (minor units) is matched;
   *  the difference is booked to the channel's rounding account. */
  amount_tolerance_minor: number;
  /** A converted line (net currency other than the gross currency) is matched when its net differs
   *  from its gross × its exchange rate less its fees by at most `amount_tolerance_minor` plus this,
   *  in minor units of the net currency: the channel's own rounding of the conversion. */
  fx_rounding_minor: number;
  /** A bank credit funds its batches when it differs from their summed net by at most this per batch. */
  funding_tolerance_minor_per_batch: number;
  /** A line's fees outside the fee model's range by more than this share of its gross (bps) plus
   *  `fee_tolerance_minor` is a fee_mismatch. */
  fee_tolerance_bps: number;
  fee_tolerance_minor: number;
}

export const defaultTerms: Readonly<Record<string, SettlementTerms>> = {
  globalpay: {
    settlement_delay_days: 1, payout_delay_days: 1, grace_days: 2,
    amount_tolerance_minor: 1, fx_rounding_minor: 1, funding_tolerance_minor_per_batch: 1, fee_tolerance_bps: 10, fee_tolerance_minor: 2,
  },
  localacq: {
    settlement_delay_days: 2, payout_delay_days: 2, grace_days: 2,
    amount_tolerance_minor: 1, fx_rounding_minor: 1, funding_tolerance_minor_per_batch: 1, fee_tolerance_bps: 10, fee_tolerance_minor: 2,
  },
  sandboxbank: {
    settlement_delay_days: 0, payout_delay_days: 0, grace_days: 2,
    amount_tolerance_minor: 0, fx_rounding_minor: 0, funding_tolerance_minor_per_batch: 1, fee_tolerance_bps: 0, fee_tolerance_minor: 0,
  },
};

export const settlementLimits = {
  /** Largest settlement file accepted (characters). */
  file_chars_max: 512 * 1024 * 1024,
  /** Uploaded through the API (JSON body). */
  upload_body_bytes_max: 32 * 1024 * 1024,
  /** Errors kept for a rejected file. */
  file_errors_max: 100,
  /** Report lines matched and written per step of an import (all in its one transaction). */
  import_chunk_lines: 5_000,
  /** Rows per multi-row INSERT. */
  insert_rows_max: 200,
  /** Captures examined per page, and pages per run and channel, for missing_in_report. */
  capture_page_max: 5_000,
  capture_pages_per_run_max: 1_000,
  /** Succeeded refunds examined per page, and pages per run and channel, for missing_in_report;
   *  also the page of refund exceptions a run closes or supersedes once a line carries the refund. */
  refund_page_max: 5_000,
  refund_pages_per_run_max: 1_000,
  /** Bank entries and batches examined per run and channel. */
  entries_per_run_max: 10_000,
  batches_per_run_max: 10_000,
  /** Files fetched from one source per scheduler tick. */
  files_per_fetch_max: 20,
  /** Settled lines the observed-fee refresh reads (the newest). */
  observed_fee_window_days: 30,
  observed_fee_lines_min: 20,
} as const;

export const dayMs = 86_400_000;

/** 00:00 UTC of the day of `ms`. */
export function startOfUtcDay(ms: number): number {
  return Math.floor(ms / dayMs) * dayMs;
}

/** Milliseconds of 00:00 UTC of a YYYY-MM-DD date. */
export function dateMs(date: string): number {
  return Date.parse(`${date}T00:00:00Z`);
}
