// Seeded faults of a settlement close, given by the caller (the chaos suite) and applied
// deterministically to the lines of that close's report:
//   drop:          [merchant_reference…]  every line with that merchant reference is left out
//   duplicate:     [merchant_reference…]  every line with that merchant reference is written twice
//   change_amount: {merchant_reference: delta_minor}  gross and net of its money lines change by delta
//   wrong_fee:     {merchant_reference: delta_minor}  the fee of its money lines is off by delta (the
//                  channel's own fee column: globalpay markup, localacq commission) and net moves the
//                  other way; a fee never goes below zero (the applied delta is reported)
//   late:          the report is created but published only on POST /_sandbox/settlement/reports/{id}/publish
//   repeat:        the same bytes are published twice, under two report ids
//   unfunded:      no payout is sent to the bank for the close's batches
// "Money lines" are settled, refunded, chargeback and chargeback-reversal lines (fee lines and
// payout rows are not changed by amounts; the payout rows are always the sum of the lines as
// written, so the file stays internally consistent and what is paid is what the file says).
// Deltas are ISO 4217 minor units of the line's currency (localacq: they must be representable in
// its own exponent); on a line settled converted (settle_in, ./conversion.ts) change_amount is in
// its captured currency (its net moves by the delta at the rate) and wrong_fee in its settlement
// currency. Drop wins over the others; a duplicated line repeats its changed amounts.
import { isObject } from "../types.ts";

export interface SettlementFaults {
  drop: string[];
  duplicate: string[];
  change_amount: Record<string, number>;
  wrong_fee: Record<string, number>;
  late: boolean;
  repeat: boolean;
  unfunded: boolean;
}

export const noSettlementFaults: SettlementFaults = { drop: [], duplicate: [], change_amount: {}, wrong_fee: {}, late: false, repeat: false, unfunded: false };

type Parsed = { ok: true; faults: SettlementFaults } | { ok: false; message: string };

const MAX_REFERENCES = 10_000;

function references(value: unknown, name: string): string[] | string {
  if (value === undefined) return [];
  if (!Array.isArray(value) || value.length > MAX_REFERENCES || !value.every((item) => typeof item === "string" && item.length > 0)) {
    return `${name} must be an array of merchant references`;
  }
  return value as string[];
}

function deltas(value: unknown, name: string): Record<string, number> | string {
  if (value === undefined) return {};
  if (!isObject(value) || Object.keys(value).length > MAX_REFERENCES) return `${name} must be an object {merchant_reference: delta_minor}`;
  const out: Record<string, number> = Object.create(null) as Record<string, number>;
  for (const [reference, delta] of Object.entries(value)) {
    if (typeof delta !== "number" || !Number.isSafeInteger(delta) || delta === 0) return `${name}.${reference} must be a non-zero integer of minor units`;
    out[reference] = delta;
  }
  return out;
}

function flag(value: unknown, name: string): boolean | string {
  if (value === undefined) return false;
  return typeof value === "boolean" ? value : `${name} must be a boolean`;
}

const known = new Set(["drop", "duplicate", "change_amount", "wrong_fee", "late", "repeat", "unfunded"]);

export function parseSettlementFaults(value: unknown): Parsed {
  if (value === undefined || value === null) return { ok: true, faults: noSettlementFaults };
  if (!isObject(value)) return { ok: false, message: "faults must be an object" };
  const unknown = Object.keys(value).find((key) => !known.has(key));
  if (unknown !== undefined) return { ok: false, message: `unknown fault ${unknown}; expected ${[...known].join(", ")}` };
  const drop = references(value.drop, "drop");
  const duplicate = references(value.duplicate, "duplicate");
  const change_amount = deltas(value.change_amount, "change_amount");
  const wrong_fee = deltas(value.wrong_fee, "wrong_fee");
  const late = flag(value.late, "late");
  const repeat = flag(value.repeat, "repeat");
  const unfunded = flag(value.unfunded, "unfunded");
  for (const part of [drop, duplicate, change_amount, wrong_fee, late, repeat, unfunded]) {
    if (typeof part === "string") return { ok: false, message: part };
  }
  return {
    ok: true,
    faults: {
      drop: drop as string[], duplicate: duplicate as string[], change_amount: change_amount as Record<string, number>,
      wrong_fee: wrong_fee as Record<string, number>, late: late as boolean, repeat: repeat as boolean, unfunded: unfunded as boolean,
    },
  };
}
