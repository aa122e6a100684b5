// Where a bank-transfer refund is paid out: the customer's account in the payment's country,
// checked before anything is written (an Indonesian account at a known bank, a Mexican CLABE with
// its check digit, a Brazilian Pix key of one of the five kinds).
import type { RefundDestination } from "../../channels/contract.ts";
import { invalid, ok, type Result } from "../../errors.ts";
import { isValidClabe } from "./clabe.ts";
import { vaBankPrefixes } from "./va.ts";

const param = "destination";

/** The Pix key kinds: CPF, CNPJ, e-mail, phone (+55), random key (EVP). */
const pixKeyPatterns: readonly RegExp[] = [
  /^[0-9]{11}$/,
  /^[0-9]{14}$/,
  /^[^@\s]{1,64}@[^@\s]{1,190}\.[a-z]{2,}$/i,
  /^\+55[0-9]{10,11}$/,
  /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i,
];

export function checkRefundDestination(payment_country: string, destination: RefundDestination): Result<RefundDestination> {
  const country = destination.country.toUpperCase();
  if (country !== payment_country) {
    return invalid(`${param}.country`, "country_mismatch", `The payment was made in ${payment_country}; its refund is paid out to an account there.`);
  }
  const account = destination.account;
  switch (country) {
    case "ID": {
      if (!/^[0-9]{5,20}$/.test(account)) return invalid(`${param}.account`, "invalid_account_number", "An Indonesian bank account number has 5 to 20 digits.");
      const bank = destination.bank?.toLowerCase();
      if (!bank || !(bank in vaBankPrefixes)) return invalid(`${param}.bank`, "bank_unsupported", `Banks for ID: ${Object.keys(vaBankPrefixes).join(", ")}.`);
      return ok({ ...destination, country, bank });
    }
    case "MX":
      if (!/^[0-9]{18}$/.test(account) || !isValidClabe(account)) return invalid(`${param}.account`, "invalid_clabe", "A CLABE has 18 digits with a valid check digit.");
      return ok({ ...destination, country });
    case "BR":
      if (!pixKeyPatterns.some((pattern) => pattern.test(account))) {
        return invalid(`${param}.account`, "invalid_pix_key", "A Pix key is a CPF (11 digits), a CNPJ (14 digits), an e-mail, a +55 phone number or a random key (UUID).");
      }
      return ok({ ...destination, country });
    default:
      return invalid(`${param}.country`, "country_unsupported", `Refunds are paid out in ID, MX and BR, not '${destination.country}'.`);
  }
}

/** What a refund shows of where it was paid: never the whole account. */
export function maskedDestination(destination: RefundDestination) {
  return {
    type: destination.type, country: destination.country, bank: destination.bank ?? null,
    account_holder_name: destination.account_holder_name, account_last4: destination.account.slice(-4),
  };
}
