// globalpay's own records and the JSON views it answers with.

export type GpStatus = "CHALLENGE_REQUIRED" | "AUTHORISED" | "CAPTURED" | "CANCELLED" | "REFUSED" | "ERROR";
export type GpOperationType = "capture" | "cancellation" | "refund";

export interface GpRefusal {
  code: string;
  reason: string;
  network_code?: string;
}

export interface GpAmount {
  /** Integer minor units in the ISO 4217 exponent. */
  value: number;
  currency: string;
}

export interface GpOperation {
  id: string;
  authorization_id: string;
  merchant_reference: string;
  type: GpOperationType;
  status: "SUCCEEDED" | "REFUSED";
  amount: GpAmount;
  refusal?: GpRefusal;
  created_at: string;
}

export interface GpRecord {
  id: string;
  merchant_reference: string;
  status: GpStatus;
  amount: GpAmount;
  authorised_value: number;
  captured_value: number;
  auto_capture: boolean;
  return_url: string;
  refusal?: GpRefusal;
  error?: { code: string; message: string };
  challenge_url?: string;
  /** The card network (by the PAN's leading digits): what a chargeback is raised under. */
  network?: string;
  /** When an auto-captured authorization was approved (and so captured): its settled sale. */
  captured_at?: string;
  operations: GpOperation[];
  created_at: string;
  updated_at: string;
}

export function refundedValue(record: GpRecord): number {
  let total = 0;
  for (const operation of record.operations) {
    if (operation.type === "refund" && operation.status === "SUCCEEDED") total += operation.amount.value;
  }
  return total;
}

export function recordView(record: GpRecord) {
  return {
    id: record.id,
    merchant_reference: record.merchant_reference,
    status: record.status,
    amount: record.amount,
    authorised_value: record.authorised_value,
    captured_value: record.captured_value,
    refunded_value: refundedValue(record),
    voided: record.status === "CANCELLED",
    auto_capture: record.auto_capture,
    ...(record.refusal ? { refusal: record.refusal } : {}),
    ...(record.error ? { error: record.error } : {}),
    ...(record.challenge_url && record.status === "CHALLENGE_REQUIRED" ? { challenge: { url: record.challenge_url } } : {}),
    captures: record.operations.filter((operation) => operation.type === "capture").map(operationView),
    cancellations: record.operations.filter((operation) => operation.type === "cancellation").map(operationView),
    refunds: record.operations.filter((operation) => operation.type === "refund").map(operationView),
    created_at: record.created_at,
    updated_at: record.updated_at,
  };
}

export function operationView(operation: GpOperation) {
  return { ...operation };
}
