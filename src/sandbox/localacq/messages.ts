// localacq's ISO 8583 dialect, carried as JSON: {mti, fields: {"2": pan, "3": processing code, ...}}.
import { isObject, parseJsonObject } from "../types.ts";

export type IsoFields = Record<string, string>;
export interface IsoMessage {
  mti: string;
  fields: IsoFields;
}

export const PROCESSING_PURCHASE = "000000";
export const PROCESSING_REFUND = "200000";
export const AMOUNT_DIGITS = 12;
export const RRN_DIGITS = 12;

/** Response MTI: the function digit goes up by one (0100 → 0110, 0420 → 0430). */
export function responseMti(request_mti: string): string {
  return `${request_mti.slice(0, 2)}${Number(request_mti[2]) + 1}${request_mti[3]}`;
}

export function parseMessage(body: string): IsoMessage | undefined {
  const json = parseJsonObject(body);
  if (!json || typeof json.mti !== "string" || !/^0[1-4][0-9]0$/.test(json.mti) || !isObject(json.fields)) return undefined;
  const fields: IsoFields = {};
  for (const [key, value] of Object.entries(json.fields)) {
    if (typeof value !== "string") return undefined;
    fields[key] = value;
  }
  return { mti: json.mti, fields };
}

export function parseAmountField(value: string | undefined): number | undefined {
  if (value === undefined || value.length !== AMOUNT_DIGITS || !/^\d+$/.test(value)) return undefined;
  const amount = Number(value);
  return amount > 0 ? amount : undefined;
}

export function formatAmountField(amount: number): string {
  return String(amount).padStart(AMOUNT_DIGITS, "0");
}

/** DE14 "YYMM" → month and four-digit year. */
export function parseExpiryField(value: string | undefined): { month: number; year: number } | undefined {
  if (value === undefined || !/^\d{4}$/.test(value)) return undefined;
  const month = Number(value.slice(2));
  return month >= 1 && month <= 12 ? { month, year: 2000 + Number(value.slice(0, 2)) } : undefined;
}
