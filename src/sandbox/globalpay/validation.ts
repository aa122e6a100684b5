// Parses globalpay request bodies; anything malformed is answered 400 INVALID_REQUEST.
import { isObject, parseJsonObject } from "../types.ts";
import type { GpAmount } from "./records.ts";

export interface AuthorizationInput {
  merchant_reference: string;
  amount: GpAmount;
  pan: string;
  exp_month: number;
  exp_year: number;
  security_code?: string;
  auto_capture: boolean;
  return_url: string;
}

export interface OperationInput {
  merchant_reference: string;
  amount?: GpAmount;
}

const MAX_REFERENCE_LENGTH = 128;

function isReference(value: unknown): value is string {
  return typeof value === "string" && value.length > 0 && value.length <= MAX_REFERENCE_LENGTH;
}

function parseAmount(value: unknown): GpAmount | undefined {
  if (!isObject(value)) return undefined;
  const { value: minor, currency } = value;
  if (typeof minor !== "number" || !Number.isSafeInteger(minor) || minor <= 0) return undefined;
  if (typeof currency !== "string" || !/^[A-Z]{3}$/.test(currency)) return undefined;
  return { value: minor, currency };
}

/** "MM/YY" → month and four-digit year. */
function parseExpiry(value: unknown): { month: number; year: number } | undefined {
  if (typeof value !== "string") return undefined;
  const match = /^(\d{2})\/(\d{2})$/.exec(value);
  if (!match) return undefined;
  const month = Number(match[1]);
  if (month < 1 || month > 12) return undefined;
  return { month, year: 2000 + Number(match[2]) };
}

export function parseAuthorization(body: string): AuthorizationInput | undefined {
  const json = parseJsonObject(body);
  const card = isObject(json?.payment_source) ? json.payment_source.card : undefined;
  if (!json || !isObject(card)) return undefined;
  const amount = parseAmount(json.amount);
  const expiry = parseExpiry(card.expiry);
  const { merchant_reference, auto_capture, return_url } = json;
  if (!isReference(merchant_reference) || !amount || !expiry || typeof card.pan !== "string") return undefined;
  if (typeof auto_capture !== "boolean" || typeof return_url !== "string") return undefined;
  const security_code = typeof card.security_code === "string" ? card.security_code : undefined;
  return { merchant_reference, amount, pan: card.pan, exp_month: expiry.month, exp_year: expiry.year, security_code, auto_capture, return_url };
}

export function parseOperation(body: string, amount_required: boolean): OperationInput | undefined {
  const json = parseJsonObject(body);
  if (!json || !isReference(json.merchant_reference)) return undefined;
  if (json.amount === undefined) return amount_required ? undefined : { merchant_reference: json.merchant_reference };
  const amount = parseAmount(json.amount);
  return amount ? { merchant_reference: json.merchant_reference, amount } : undefined;
}
