// Indonesian virtual accounts: one VA number per payment = the bank's prefix + a merchant code +
// digits of the payment, 16 digits in all. Closed amount (only the exact amount), single use.
import { createHash } from "node:crypto";

/** The VA prefixes (company codes) of the banks we open VAs at, by our bank code. */
export const vaBankPrefixes: Readonly<Record<string, string>> = {
  bca: "39358",
  bni: "8808",
  bri: "26215",
  mandiri: "88908",
  permata: "8214",
};

export const VA_LENGTH = 16;
const merchantDigits = 4;

/** `count` decimal digits derived from `text` (stable: the same text gives the same digits). */
export function digitsOf(text: string, count: number): string {
  const hash = createHash("sha256").update(text).digest();
  let out = "";
  for (let index = 0; out.length < count; index++) out += String(hash[index % hash.length] % 10);
  return out;
}

export function makeVirtualAccount(bank: string, merchant_id: string, payment_id: string): string {
  const prefix = vaBankPrefixes[bank];
  if (!prefix) throw new Error(`programmer error: no VA prefix for bank ${bank}`);
  const merchant = digitsOf(merchant_id, merchantDigits);
  return prefix + merchant + digitsOf(payment_id, VA_LENGTH - prefix.length - merchantDigits);
}

/** Whether `number` is a VA of `bank` in our numbering (prefix and length). */
export function isVirtualAccountOf(bank: string, number: string): boolean {
  const prefix = vaBankPrefixes[bank];
  return prefix !== undefined && number.length === VA_LENGTH && /^[0-9]+$/.test(number) && number.startsWith(prefix);
}
