// Mexican CLABE (SPEI): 18 digits = 3 bank + 3 city (plaza) + 11 account + 1 check digit, with
// weights 3, 7, 1 repeating: check = (10 − Σ(d·w mod 10) mod 10) mod 10.
import { digitsOf } from "./va.ts";

/** Banxico bank codes of the banks we issue CLABEs at, by our bank code. */
export const clabeBankCodes: Readonly<Record<string, string>> = {
  stp: "646",
  bbva: "012",
  banamex: "002",
  santander: "014",
  banorte: "072",
};

/** Mexico City's plaza code. */
export const CLABE_CITY = "180";
const weights = [3, 7, 1] as const;

export function clabeCheckDigit(first17: string): number {
  if (!/^[0-9]{17}$/.test(first17)) throw new Error("programmer error: a CLABE check digit needs 17 digits");
  let sum = 0;
  for (let index = 0; index < 17; index++) sum += (Number(first17[index]) * weights[index % 3]) % 10;
  return (10 - (sum % 10)) % 10;
}

export function isValidClabe(clabe: string): boolean {
  return /^[0-9]{18}$/.test(clabe) && clabeCheckDigit(clabe.slice(0, 17)) === Number(clabe[17]);
}

export function makeClabe(bank_code: string, city: string, account11: string): string {
  if (!/^[0-9]{3}$/.test(bank_code) || !/^[0-9]{3}$/.test(city) || !/^[0-9]{11}$/.test(account11)) {
    throw new Error("programmer error: CLABE parts are 3 + 3 + 11 digits");
  }
  const first17 = bank_code + city + account11;
  return first17 + String(clabeCheckDigit(first17));
}

/** The CLABE of one payment at `bank`: its 11 account digits derive from the payment id. */
export function clabeForPayment(bank: string, payment_id: string): string {
  const code = clabeBankCodes[bank];
  if (!code) throw new Error(`programmer error: no CLABE bank code for ${bank}`);
  return makeClabe(code, CLABE_CITY, digitsOf(payment_id, 11));
}
