// globalpay's business rules over its in-memory records.
import { randomUUID } from "node:crypto";
import { findCurrency } from "../../money/currency.ts";
import { BoundedStore } from "../bounded-store.ts";
import { cardScenario, isExpiryPast, type CardScenario } from "../test-cards.ts";
import type { GpOperation, GpOperationType, GpRecord, GpRefusal, GpStatus } from "./records.ts";
import { refundedValue } from "./records.ts";
import { networkOfPan } from "./chargebacks.ts";
import type { AuthorizationInput, OperationInput } from "./validation.ts";

export type OperationResult = { kind: "done"; operation: GpOperation } | { kind: "not_found" } | { kind: "conflict"; message: string };

const refusals = {
  do_not_honor: { code: "DO_NOT_HONOR", reason: "Do not honor", network_code: "05" },
  insufficient_funds: { code: "INSUFFICIENT_FUNDS", reason: "Insufficient funds", network_code: "51" },
  expired_card: { code: "EXPIRED_CARD", reason: "Expired card", network_code: "54" },
  invalid_number: { code: "INVALID_CARD", reason: "Invalid card number", network_code: "14" },
  authentication_failed: { code: "AUTHENTICATION_FAILED", reason: "Cardholder authentication failed" },
  currency: { code: "CURRENCY_NOT_SUPPORTED", reason: "Currency not supported" },
  exceeds_authorised: { code: "AMOUNT_EXCEEDS_AUTHORIZED", reason: "Amount exceeds the authorised amount" },
  not_capturable: { code: "NOT_CAPTURABLE", reason: "Authorization is not in a capturable state" },
  not_cancellable: { code: "NOT_CAPTURABLE", reason: "Authorization is not in a cancellable state" },
  currency_mismatch: { code: "NOT_CAPTURABLE", reason: "Currency differs from the authorization" },
  refund_exceeds: { code: "REFUND_EXCEEDS_CAPTURED", reason: "Refunds would exceed the captured amount" },
} as const satisfies Record<string, GpRefusal>;

const scenarioRefusal: Partial<Record<CardScenario, GpRefusal>> = {
  do_not_honor: refusals.do_not_honor,
  insufficient_funds: refusals.insufficient_funds,
  expired_card: refusals.expired_card,
  invalid_number: refusals.invalid_number,
};

export class GlobalPayChannel {
  private readonly byReference: BoundedStore<GpRecord>;
  private readonly referenceById: BoundedStore<string>;
  private readonly operationsByReference: BoundedStore<GpOperation>;

  constructor(capacity: number, private readonly challengeUrl: (id: string) => string) {
    this.byReference = new BoundedStore(capacity);
    this.referenceById = new BoundedStore(capacity);
    this.operationsByReference = new BoundedStore(capacity);
  }

  findByReference(reference: string): GpRecord | undefined {
    return this.byReference.get(reference);
  }

  findById(id: string): GpRecord | undefined {
    const reference = this.referenceById.get(id);
    return reference === undefined ? undefined : this.byReference.get(reference);
  }

  allRecords(): GpRecord[] {
    return [...this.byReference.values()];
  }

  /** Returns the new record, or the existing one for a repeated merchant_reference. */
  authorize(input: AuthorizationInput): { record: GpRecord; created: boolean; scenario: CardScenario } {
    const scenario = cardScenario(input.pan);
    const existing = this.byReference.get(input.merchant_reference);
    if (existing) return { record: existing, created: false, scenario };
    const record = this.newRecord(input);
    this.decide(record, input, scenario);
    this.byReference.set(record.merchant_reference, record);
    this.referenceById.set(record.id, record.merchant_reference);
    return { record, created: true, scenario };
  }

  completeChallenge(record: GpRecord, authenticated: boolean): boolean {
    if (record.status !== "CHALLENGE_REQUIRED") return false;
    if (authenticated) this.approve(record);
    else this.refuse(record, refusals.authentication_failed);
    return true;
  }

  capture(authorization_id: string, input: OperationInput): OperationResult {
    return this.operate(authorization_id, input, "capture", (record) => this.captureRefusal(record, input));
  }

  cancel(authorization_id: string, input: OperationInput): OperationResult {
    return this.operate(authorization_id, input, "cancellation", (record) => (record.status === "AUTHORISED" ? undefined : refusals.not_cancellable));
  }

  refund(authorization_id: string, input: OperationInput): OperationResult {
    return this.operate(authorization_id, input, "refund", (record) => this.refundRefusal(record, input));
  }

  private newRecord(input: AuthorizationInput): GpRecord {
    const now = new Date().toISOString();
    return {
      id: `gp_auth_${randomUUID().replaceAll("-", "")}`,
      merchant_reference: input.merchant_reference,
      status: "ERROR",
      amount: input.amount,
      authorised_value: 0,
      captured_value: 0,
      auto_capture: input.auto_capture,
      return_url: input.return_url,
      network: networkOfPan(input.pan),
      operations: [],
      created_at: now,
      updated_at: now,
    };
  }

  private decide(record: GpRecord, input: AuthorizationInput, scenario: CardScenario): void {
    if (!findCurrency(input.amount.currency)) return this.refuse(record, refusals.currency);
    const refusal = scenarioRefusal[scenario];
    if (refusal) return this.refuse(record, refusal);
    if (isExpiryPast(input.exp_month, input.exp_year)) return this.refuse(record, refusals.expired_card);
    if (scenario === "processing_error") return this.fail(record);
    if (scenario === "three_ds_challenge") return this.challenge(record);
    this.approve(record);
  }

  private approve(record: GpRecord): void {
    record.authorised_value = record.amount.value;
    if (record.auto_capture) {
      record.captured_value = record.amount.value;
      this.setStatus(record, "CAPTURED");
      record.captured_at = record.updated_at;
    } else {
      this.setStatus(record, "AUTHORISED");
    }
  }

  private refuse(record: GpRecord, refusal: GpRefusal): void {
    record.refusal = refusal;
    this.setStatus(record, "REFUSED");
  }

  private fail(record: GpRecord): void {
    record.error = { code: "PROCESSING_ERROR", message: "The acquirer failed to process the authorization" };
    this.setStatus(record, "ERROR");
  }

  private challenge(record: GpRecord): void {
    record.challenge_url = this.challengeUrl(record.id);
    this.setStatus(record, "CHALLENGE_REQUIRED");
  }

  private setStatus(record: GpRecord, status: GpStatus): void {
    record.status = status;
    record.updated_at = new Date().toISOString();
  }

  private captureRefusal(record: GpRecord, input: OperationInput): GpRefusal | undefined {
    if (record.status !== "AUTHORISED") return refusals.not_capturable;
    if (input.amount && input.amount.currency !== record.amount.currency) return refusals.currency_mismatch;
    if ((input.amount?.value ?? record.authorised_value) > record.authorised_value) return refusals.exceeds_authorised;
    return undefined;
  }

  private refundRefusal(record: GpRecord, input: OperationInput): GpRefusal | undefined {
    if (record.status !== "CAPTURED") return refusals.refund_exceeds;
    if (input.amount && input.amount.currency !== record.amount.currency) return refusals.currency_mismatch;
    const requested = input.amount?.value ?? record.captured_value - refundedValue(record);
    if (requested <= 0 || refundedValue(record) + requested > record.captured_value) return refusals.refund_exceeds;
    return undefined;
  }

  private operate(
    authorization_id: string,
    input: OperationInput,
    type: GpOperationType,
    refusalFor: (record: GpRecord) => GpRefusal | undefined,
  ): OperationResult {
    const record = this.findById(authorization_id);
    if (!record) return { kind: "not_found" };
    const existing = this.operationsByReference.get(input.merchant_reference);
    if (existing) return this.replay(existing, authorization_id, type);
    const refusal = refusalFor(record);
    const operation = this.newOperation(record, input, type, refusal);
    if (!refusal) this.apply(record, operation);
    record.operations.push(operation);
    this.operationsByReference.set(operation.merchant_reference, operation);
    return { kind: "done", operation };
  }

  private replay(existing: GpOperation, authorization_id: string, type: GpOperationType): OperationResult {
    if (existing.authorization_id !== authorization_id || existing.type !== type) {
      return { kind: "conflict", message: "merchant_reference already used for another operation" };
    }
    return { kind: "done", operation: existing };
  }

  private newOperation(record: GpRecord, input: OperationInput, type: GpOperationType, refusal: GpRefusal | undefined): GpOperation {
    const value = input.amount?.value ?? this.defaultValue(record, type);
    return {
      id: `gp_${type === "capture" ? "cap" : type === "refund" ? "ref" : "can"}_${randomUUID().replaceAll("-", "")}`,
      authorization_id: record.id,
      merchant_reference: input.merchant_reference,
      type,
      status: refusal ? "REFUSED" : "SUCCEEDED",
      amount: { value, currency: record.amount.currency },
      ...(refusal ? { refusal } : {}),
      created_at: new Date().toISOString(),
    };
  }

  private defaultValue(record: GpRecord, type: GpOperationType): number {
    if (type === "refund") return record.captured_value - refundedValue(record);
    return record.authorised_value;
  }

  private apply(record: GpRecord, operation: GpOperation): void {
    if (operation.type === "capture") {
      record.captured_value = operation.amount.value;
      this.setStatus(record, "CAPTURED");
    } else if (operation.type === "cancellation") {
      this.setStatus(record, "CANCELLED");
    } else {
      record.updated_at = operation.created_at;
    }
  }
}
