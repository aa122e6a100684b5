// sandboxbank payouts as a refunding channel: a refund of a bank transfer (or a debit) is paid out
// to the customer's account. The bank accepts a payout and decides it later, so a refund is
// `pending` until its record says paid or rejected. Wire shapes stay in this file.
import type { RefundCallOutcome, RefundingChannel, RefundRecordAtChannel } from "../contract.ts";
import { corridorDecline } from "../declines.ts";
import type { Transport, TransportResult } from "../transport.ts";
import { CHANNEL } from "./transformers.ts";

interface SbPayout {
  payout_id: string;
  merchant_ref: string;
  status: "processing" | "paid" | "rejected";
  rejection_reason: string | null;
}

function payoutOf(body: string): SbPayout | undefined {
  try {
    const payout = (JSON.parse(body) as { payout?: SbPayout }).payout;
    const valid = payout && typeof payout.payout_id === "string" && ["processing", "paid", "rejected"].includes(payout.status);
    return valid ? payout : undefined;
  } catch {
    return undefined;
  }
}

export function payoutCallOutcome(result: TransportResult): RefundCallOutcome {
  if (result.kind === "not_sent") return { kind: "error", decline: corridorDecline("processing_error"), raw: result.reason };
  if (result.kind === "unknown") return { kind: "unknown", reason: result.reason };
  const payout = payoutOf(result.body);
  if ((result.status === 200 || result.status === 201) && payout) {
    if (payout.status === "paid") return { kind: "succeeded", channel_reference: payout.payout_id, raw: payout };
    if (payout.status === "rejected") return { kind: "declined", decline: corridorDecline("payout_rejected"), raw: payout };
    return { kind: "pending", channel_reference: payout.payout_id };
  }
  if (result.status >= 400 && result.status < 500) return { kind: "declined", decline: corridorDecline("payout_rejected"), raw: result.body.slice(0, 200) };
  return { kind: "unknown", reason: `unexpected answer ${result.status}` };
}

export function payoutRecord(result: TransportResult): RefundRecordAtChannel | { unreachable: true; reason: string } {
  if (result.kind !== "answered") return { unreachable: true, reason: result.reason };
  if (result.status === 404) return { found: false };
  const payout = payoutOf(result.body);
  if (result.status !== 200 || !payout) return { unreachable: true, reason: `unexpected answer ${result.status}` };
  switch (payout.status) {
    case "processing":
      return { found: true, status: "pending" };
    case "paid":
      return { found: true, status: "succeeded" };
    case "rejected":
      return { found: true, status: "failed", failure_reason: payout.rejection_reason ?? "rejected" };
  }
}

export function createSandboxBankPayouts(options: { transport: Transport; timeout_ms: number }): RefundingChannel {
  const { transport, timeout_ms } = options;
  return {
    name: CHANNEL,
    async refund(input) {
      if (!input.destination) throw new Error("programmer error: a bank payout needs a destination account");
      const body = {
        merchant_ref: input.reference, country: input.destination.country, amount: input.amount, currency: input.currency,
        beneficiary: { name: input.destination.account_holder_name, account: input.destination.account, bank: input.destination.bank },
      };
      return payoutCallOutcome(await transport.request({ method: "POST", path: "/payouts", body: JSON.stringify(body), timeout_ms }));
    },
    async inquireRefund({ reference }) {
      return payoutRecord(await transport.request({ method: "GET", path: `/payouts/${encodeURIComponent(reference)}`, timeout_ms }));
    },
  };
}
