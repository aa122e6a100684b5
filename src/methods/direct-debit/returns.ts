// Direct-debit return reasons (R-transactions): one table, data not `if`s. For each code the
// scheme it belongs to, what it means, whether it ends the mandate (no further collection may be
// made under it), and whether the same debit may be presented again (NACHA: only R01 and R09, at
// most twice after the first presentment). Codes a channel reports that are not listed here are
// still applied (the money came back), as "unlisted": the mandate stays, no re-presentment.

export type DebitScheme = "sepa_core" | "sepa_b2b" | "ach";

export interface ReturnReason {
  code: string;
  family: "sepa" | "ach";
  description: string;
  /** The account or the authorization is gone: the mandate becomes `inactive`. */
  ends_mandate: boolean;
  /** The same debit may be presented again (ACH R01, R09). */
  may_represent: boolean;
}

const reasons: readonly ReturnReason[] = [
  // SEPA (ISO 20022 reason codes)
  { code: "AC04", family: "sepa", description: "Account closed", ends_mandate: true, may_represent: false },
  { code: "AC06", family: "sepa", description: "Account blocked for direct debits", ends_mandate: true, may_represent: false },
  { code: "AM04", family: "sepa", description: "Insufficient funds", ends_mandate: false, may_represent: false },
  { code: "MD01", family: "sepa", description: "No valid mandate (unauthorized transaction)", ends_mandate: true, may_represent: false },
  { code: "MD06", family: "sepa", description: "Refund request by the debtor", ends_mandate: false, may_represent: false },
  { code: "MS02", family: "sepa", description: "Refused by the debtor", ends_mandate: false, may_represent: false },
  { code: "MS03", family: "sepa", description: "Reason not specified", ends_mandate: false, may_represent: false },
  { code: "SL01", family: "sepa", description: "Specific service offered by the debtor's bank", ends_mandate: false, may_represent: false },
  // ACH (NACHA return codes)
  { code: "R01", family: "ach", description: "Insufficient funds", ends_mandate: false, may_represent: true },
  { code: "R02", family: "ach", description: "Account closed", ends_mandate: true, may_represent: false },
  { code: "R03", family: "ach", description: "No account / unable to locate account", ends_mandate: true, may_represent: false },
  { code: "R04", family: "ach", description: "Invalid account number", ends_mandate: true, may_represent: false },
  { code: "R07", family: "ach", description: "Authorization revoked by the customer", ends_mandate: true, may_represent: false },
  { code: "R08", family: "ach", description: "Payment stopped", ends_mandate: false, may_represent: false },
  { code: "R09", family: "ach", description: "Uncollected funds", ends_mandate: false, may_represent: true },
  { code: "R10", family: "ach", description: "Customer advises not authorized", ends_mandate: true, may_represent: false },
  { code: "R29", family: "ach", description: "Corporate customer advises not authorized", ends_mandate: true, may_represent: false },
];

const byCode = new Map(reasons.map((reason) => [reason.code, reason]));

/** At most this many re-presentments after the first presentment (NACHA). */
export const REPRESENTMENTS_MAX = 2;

export function returnReason(code: string): ReturnReason {
  return byCode.get(code) ?? {
    code, family: code.startsWith("R") ? "ach" : "sepa", description: "Unlisted return reason", ends_mandate: false, may_represent: false,
  };
}

export function isListedReturnCode(code: string): boolean {
  return byCode.has(code);
}
