// Decline normalisation is data: one table from (channel, raw code) to a unified code, and one
// table from unified code to its retry decision, following the scheme reattempt rules
// (Visa decline categories, Mastercard Merchant Advice Codes) in the domain handbook.

/** hard: the issuer will never approve (Visa category 1, MAC 03/21): never retry anywhere.
 *  soft: cannot approve now, or data quality: retry later on the same card, bounded.
 *  technical: the channel or network failed: another channel may well succeed. */
export type DeclineCategory = "hard" | "soft" | "technical";

export interface UnifiedDeclineRule {
  category: DeclineCategory;
  /** May the same payment be sent to the next eligible channel right now? */
  cascade: boolean;
  message: string;
}

export const unifiedDeclines = {
  do_not_honor: { category: "hard", cascade: false, message: "The card was declined by the issuer." },
  invalid_card: { category: "hard", cascade: false, message: "The card number is not valid at the issuer." },
  lost_card: { category: "hard", cascade: false, message: "The card was declined." },
  stolen_card: { category: "hard", cascade: false, message: "The card was declined." },
  pickup_card: { category: "hard", cascade: false, message: "The card was declined." },
  restricted_card: { category: "hard", cascade: false, message: "The card cannot be used for this payment." },
  transaction_not_allowed: { category: "hard", cascade: false, message: "The card does not allow this kind of payment." },
  stop_recurring: { category: "hard", cascade: false, message: "The cardholder stopped this recurring payment." },
  insufficient_funds: { category: "soft", cascade: false, message: "The card has insufficient funds." },
  expired_card: { category: "soft", cascade: false, message: "The card has expired." },
  incorrect_cvc: { category: "soft", cascade: false, message: "The card's security code is incorrect." },
  exceeds_limit: { category: "soft", cascade: false, message: "The payment exceeds the card's limit." },
  try_again_later: { category: "soft", cascade: false, message: "The issuer cannot approve this payment now." },
  generic_decline: { category: "soft", cascade: false, message: "The card was declined." },
  authentication_required: { category: "soft", cascade: true, message: "The issuer requires cardholder authentication." },
  authentication_failed: { category: "hard", cascade: false, message: "Cardholder authentication failed." },
  issuer_unavailable: { category: "technical", cascade: true, message: "The issuer could not be reached." },
  processing_error: { category: "technical", cascade: true, message: "The channel failed to process the payment." },
  channel_unavailable: { category: "technical", cascade: true, message: "The channel could not be reached." },
  currency_not_supported: { category: "technical", cascade: true, message: "The channel does not support this currency." },
  amount_exceeds_capturable: { category: "hard", cascade: false, message: "The amount exceeds what the channel holds." },
  refund_exceeds_captured: { category: "hard", cascade: false, message: "The refund exceeds what was captured." },
  unmapped: { category: "soft", cascade: false, message: "The channel declined with a code Corridor does not know." },
  payout_rejected: { category: "hard", cascade: false, message: "The bank rejected the payout to the customer's account." },
} as const satisfies Record<string, UnifiedDeclineRule>;

export type UnifiedDeclineCode = keyof typeof unifiedDeclines;

export interface UnifiedDecline {
  code: UnifiedDeclineCode;
  category: DeclineCategory;
  cascade: boolean;
  message: string;
  /** The channel's own code and message, kept for support and reconciliation. */
  raw_code: string;
  raw_message?: string;
  /** Network response code (ISO 8583 DE39 style) where the channel gives one. */
  network_response_code?: string;
}

/** (channel, raw code) → unified code. Add a row, never an `if`. */
const channelCodeTable: Record<string, Record<string, UnifiedDeclineCode>> = {
  globalpay: {
    DO_NOT_HONOR: "do_not_honor",
    INSUFFICIENT_FUNDS: "insufficient_funds",
    EXPIRED_CARD: "expired_card",
    INVALID_CARD: "invalid_card",
    CVC_DECLINED: "incorrect_cvc",
    LOST_CARD: "lost_card",
    STOLEN_CARD: "stolen_card",
    AUTHENTICATION_FAILED: "authentication_failed",
    PROCESSING_ERROR: "processing_error",
    ISSUER_UNAVAILABLE: "issuer_unavailable",
    CURRENCY_NOT_SUPPORTED: "currency_not_supported",
    AMOUNT_EXCEEDS_AUTHORIZED: "amount_exceeds_capturable",
    REFUND_EXCEEDS_CAPTURED: "refund_exceeds_captured",
    NOT_CAPTURABLE: "amount_exceeds_capturable",
  },
  // The local acquirer speaks ISO 8583 response codes (DE39).
  localacq: {
    "04": "pickup_card",
    "05": "do_not_honor",
    "12": "transaction_not_allowed",
    "14": "invalid_card",
    "41": "lost_card",
    "43": "stolen_card",
    "51": "insufficient_funds",
    "54": "expired_card",
    "57": "transaction_not_allowed",
    "61": "exceeds_limit",
    "62": "restricted_card",
    "13": "amount_exceeds_capturable",
    "N7": "incorrect_cvc",
    "1A": "authentication_required",
    "91": "issuer_unavailable",
    "96": "processing_error",
    "R1": "stop_recurring",
  },
};

export function normalizeDecline(
  channel: string,
  raw_code: string,
  raw_message?: string,
  network_response_code?: string,
): UnifiedDecline {
  const code: UnifiedDeclineCode = channelCodeTable[channel]?.[raw_code] ?? "unmapped";
  const rule: UnifiedDeclineRule = unifiedDeclines[code];
  return { code, ...rule, raw_code, raw_message, network_response_code };
}

/** A decline created by Corridor itself (not by a channel), e.g. a channel we could not reach. */
export function corridorDecline(code: UnifiedDeclineCode, raw_message?: string): UnifiedDecline {
  return { code, ...unifiedDeclines[code], raw_code: code, raw_message };
}
