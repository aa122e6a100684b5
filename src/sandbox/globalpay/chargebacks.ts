// globalpay's test-only chargebacks: raised on a captured authorization by a test, decided stage by
// stage, each change notified to the merchant (signed, like every globalpay notification).
//   POST /_sandbox/chargebacks                 {merchant_reference, reason_code, amount?}
//   GET  /_sandbox/chargebacks/{id}
//   POST /_sandbox/chargebacks/{id}/decide     {outcome: "won"|"lost", drop_notification?}  decides the current stage
//   POST /_sandbox/chargebacks/{id}/escalate   a won stage is taken further by the issuer
//                                              (chargeback → pre-arbitration → arbitration)
//   POST /_sandbox/chargebacks/{id}/renotify   sends the current state again (duplicate delivery)
// The merchant's side (what a connector calls):
//   GET  /v2/disputes/{id}                     the dispute as globalpay records it
//   POST /v2/disputes/{id}/evidence            {evidence: {field: text}} the response to the open stage
import { randomUUID } from "node:crypto";
import type { GpRecord } from "./records.ts";

export type GpDisputeStage = "CHARGEBACK" | "PRE_ARBITRATION" | "ARBITRATION";
export type GpDisputeStatus = "OPEN" | "WON" | "LOST";

export interface GpDispute {
  id: string;
  authorization_id: string;
  merchant_reference: string;
  reason_code: string;
  network: string;
  amount: { value: number; currency: string };
  stage: GpDisputeStage;
  status: GpDisputeStatus;
  sequence: number;
  created_at: string;
  updated_at: string;
  /** The merchant's evidence for the current stage, once submitted (cleared when a stage opens). */
  evidence: Record<string, string> | null;
  evidence_submitted_at: string | null;
}

const reasonCodes: Record<string, readonly string[]> = {
  visa: ["10.4", "12.6", "13.1", "13.3", "13.6"],
  mastercard: ["4837", "4853", "4863", "4834", "4808"],
};

/** The card network of a PAN by its leading digits (enough for the sandbox's test cards). */
export function networkOfPan(pan: string): string {
  if (pan.startsWith("4")) return "visa";
  if (/^(5[1-5]|2[2-7])/.test(pan)) return "mastercard";
  if (/^3[47]/.test(pan)) return "amex";
  if (/^(6011|65|64[4-9])/.test(pan)) return "discover";
  if (pan.startsWith("35")) return "jcb";
  return "unknown";
}

export type ChargebackResult = { ok: true; dispute: GpDispute } | { ok: false; status: number; code: string; message: string };

const fail = (status: number, code: string, message: string): ChargebackResult => ({ ok: false, status, code, message });

export class GlobalPayChargebacks {
  private readonly byId = new Map<string, GpDispute>();

  find(id: string): GpDispute | undefined {
    return this.byId.get(id);
  }

  all(): GpDispute[] {
    return [...this.byId.values()];
  }

  open(record: GpRecord | undefined, input: { reason_code?: unknown; amount?: unknown }): ChargebackResult {
    if (!record) return fail(404, "NOT_FOUND", "no such authorization");
    if (record.status !== "CAPTURED") return fail(409, "NOT_CAPTURED", "only a captured authorization can be charged back");
    const network = record.network ?? "unknown";
    const reason_code = input.reason_code;
    const allowed = reasonCodes[network];
    if (typeof reason_code !== "string" || (allowed ? !allowed.includes(reason_code) : !/^[0-9.]{2,6}$/.test(reason_code))) {
      return fail(400, "INVALID_REQUEST", `reason_code must be one of ${allowed?.join(", ") ?? "the scheme's codes"}`);
    }
    const value = input.amount ?? record.captured_value;
    if (typeof value !== "number" || !Number.isSafeInteger(value) || value <= 0 || value > record.captured_value) {
      return fail(400, "INVALID_REQUEST", "amount must be a positive integer up to the captured value");
    }
    const now = new Date().toISOString();
    const dispute: GpDispute = {
      id: `gp_dsp_${randomUUID().replaceAll("-", "")}`,
      authorization_id: record.id,
      merchant_reference: record.merchant_reference,
      reason_code,
      network,
      amount: { value, currency: record.amount.currency },
      stage: "CHARGEBACK",
      status: "OPEN",
      sequence: 1,
      created_at: now,
      updated_at: now,
      evidence: null,
      evidence_submitted_at: null,
    };
    this.byId.set(dispute.id, dispute);
    return { ok: true, dispute };
  }

  decide(id: string, outcome: unknown): ChargebackResult {
    const dispute = this.byId.get(id);
    if (!dispute) return fail(404, "NOT_FOUND", "no such chargeback");
    if (outcome !== "won" && outcome !== "lost") return fail(400, "INVALID_REQUEST", 'outcome must be "won" or "lost"');
    if (dispute.status !== "OPEN") return fail(409, "ALREADY_DECIDED", `this stage was already decided (${dispute.status})`);
    this.change(dispute, { status: outcome === "won" ? "WON" : "LOST" });
    return { ok: true, dispute };
  }

  escalate(id: string): ChargebackResult {
    const dispute = this.byId.get(id);
    if (!dispute) return fail(404, "NOT_FOUND", "no such chargeback");
    const next: GpDisputeStage | undefined = dispute.stage === "CHARGEBACK" ? "PRE_ARBITRATION" : dispute.stage === "PRE_ARBITRATION" ? "ARBITRATION" : undefined;
    if (dispute.status !== "WON" || !next) return fail(409, "NOT_ESCALATABLE", "only a stage the merchant won can be escalated, up to arbitration");
    this.change(dispute, { stage: next, status: "OPEN", evidence: null, evidence_submitted_at: null });
    return { ok: true, dispute };
  }

  /** The merchant's response to the open stage, sent on to the issuer. The same evidence again is
   *  answered as accepted (a retry); other evidence after submission, or on a decided stage, is refused. */
  submitEvidence(id: string, evidence: unknown): ChargebackResult {
    const dispute = this.byId.get(id);
    if (!dispute) return fail(404, "NOT_FOUND", "no such dispute");
    if (typeof evidence !== "object" || evidence === null || Array.isArray(evidence) || Object.keys(evidence).length === 0 ||
      Object.keys(evidence).length > 50 || !Object.values(evidence).every((value) => typeof value === "string" && value.length <= 20_000)) {
      return fail(400, "INVALID_REQUEST", "evidence must be an object of 1 to 50 text fields");
    }
    const given = evidence as Record<string, string>;
    if (dispute.evidence_submitted_at) {
      if (JSON.stringify(dispute.evidence) === JSON.stringify(given)) return { ok: true, dispute };
      return fail(409, "EVIDENCE_ALREADY_SUBMITTED", "evidence for this stage was already submitted");
    }
    if (dispute.status !== "OPEN") return fail(409, "ALREADY_DECIDED", `this stage was already decided (${dispute.status})`);
    this.change(dispute, { evidence: { ...given }, evidence_submitted_at: new Date().toISOString() });
    return { ok: true, dispute };
  }

  private change(dispute: GpDispute, change: Partial<Pick<GpDispute, "stage" | "status" | "evidence" | "evidence_submitted_at">>): void {
    Object.assign(dispute, change);
    dispute.sequence += 1;
    dispute.updated_at = new Date().toISOString();
  }
}

export function disputeView(dispute: GpDispute) {
  return { ...dispute, amount: { ...dispute.amount }, evidence: dispute.evidence ? { ...dispute.evidence } : null };
}
