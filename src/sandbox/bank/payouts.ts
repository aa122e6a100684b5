// sandboxbank payouts: the bank pays money out to a customer's account (refunds of bank transfers
// and debits). Its own wire format:
//   POST /payouts            {merchant_ref, country, beneficiary: {name, account, bank?}, amount, currency}
//                            → 201 {payout} (idempotent by merchant_ref: the same ref answers the first payout)
//   GET  /payouts/:ref       one payout by merchant_ref
//   GET  /payouts            every payout (reconciliation)
// A payout is `processing` when accepted and is decided `settle_after_ms` later (read lazily: the
// bank's state is a function of time, so an inquiry after that moment sees the outcome):
//   `paid`, or `rejected` with a reason for the test accounts below.
// Test accounts (the beneficiary account's last four digits):
//   ...0000 → rejected "account_closed";   ...1111 → rejected "beneficiary_name_mismatch".
// A Pix key "closed@pix.example" is rejected "account_closed" too.
import { randomBytes } from "node:crypto";
import { jsonResponse, parseJsonObject, isObject, type SandboxRequest, type SandboxResponse } from "../types.ts";

export interface PayoutOptions {
  /** How long a payout stays processing before the bank decides it. */
  settle_after_ms?: number;
  /** Payouts kept before the oldest is evicted. */
  capacity?: number;
}

interface Payout {
  payout_id: string;
  merchant_ref: string;
  country: string;
  beneficiary: { name: string; account: string; bank: string | null };
  amount: number;
  currency: string;
  created_at: string;
  decided_at_ms: number;
  rejection: string | null;
}

const rejections: Readonly<Record<string, string>> = { "0000": "account_closed", "1111": "beneficiary_name_mismatch" };

function rejectionFor(account: string): string | null {
  if (account === "closed@pix.example") return "account_closed";
  return rejections[account.slice(-4)] ?? null;
}

export function createPayoutDesk(options: PayoutOptions = {}) {
  const byRef = new Map<string, Payout>();
  const capacity = options.capacity ?? 100_000;
  const settleAfterMs = options.settle_after_ms ?? 200;

  function view(payout: Payout) {
    const decided = Date.now() >= payout.decided_at_ms;
    const status = !decided ? "processing" : payout.rejection ? "rejected" : "paid";
    const { decided_at_ms: _decided, rejection, ...shown } = payout;
    return { ...shown, status, rejection_reason: decided ? rejection : null };
  }

  function create(request: SandboxRequest): SandboxResponse {
    const body = parseJsonObject(request.body);
    const beneficiary = body?.beneficiary;
    const { merchant_ref, country, amount, currency } = body ?? {};
    if (typeof merchant_ref !== "string" || !merchant_ref || typeof country !== "string" || !isObject(beneficiary) ||
      typeof beneficiary.name !== "string" || !beneficiary.name || typeof beneficiary.account !== "string" || !beneficiary.account ||
      !Number.isSafeInteger(amount) || (amount as number) <= 0 || typeof currency !== "string") {
      return jsonResponse(400, { error: "invalid_payout", message: "merchant_ref, country, beneficiary {name, account}, amount (positive integer) and currency are required" });
    }
    const existing = byRef.get(merchant_ref);
    if (existing) return jsonResponse(200, { payout: view(existing) });
    if (byRef.size >= capacity) byRef.delete(byRef.keys().next().value!);
    const payout: Payout = {
      payout_id: `po_${randomBytes(10).toString("hex")}`, merchant_ref, country, amount: amount as number, currency,
      beneficiary: { name: beneficiary.name, account: beneficiary.account, bank: typeof beneficiary.bank === "string" ? beneficiary.bank : null },
      created_at: new Date().toISOString(), decided_at_ms: Date.now() + settleAfterMs, rejection: rejectionFor(beneficiary.account),
    };
    byRef.set(merchant_ref, payout);
    return jsonResponse(201, { payout: view(payout) });
  }

  /** Answers the payout routes; undefined for any other path. */
  return async (request: SandboxRequest): Promise<SandboxResponse | undefined> => {
    if (request.method === "POST" && request.path === "/payouts") return create(request);
    if (request.method === "GET" && request.path === "/payouts") return jsonResponse(200, { payouts: [...byRef.values()].map(view) });
    if (request.method === "GET" && request.path.startsWith("/payouts/")) {
      const payout = byRef.get(decodeURIComponent(request.path.slice("/payouts/".length)));
      return payout ? jsonResponse(200, { payout: view(payout) }) : jsonResponse(404, { error: "not_found" });
    }
    return undefined;
  };
}
