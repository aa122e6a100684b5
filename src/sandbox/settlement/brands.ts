// The card scheme of a PAN, for the sandbox channels' fees: by IIN prefix with `credit-card-type`,
// RuPay (which it lacks) by its ranges first. Unknown prefixes are "unknown".
import creditCardType from "credit-card-type";

const rupayRanges: readonly (readonly [number, number])[] = [[508500, 508999], [606985, 607984], [608001, 608500], [652150, 653149]];

const names: Record<string, string> = { "american-express": "amex", "diners-club": "diners" };

export function brandOfPan(pan: string): string {
  if (!/^\d{12,19}$/.test(pan)) return "unknown";
  const iin = Number(pan.slice(0, 6));
  if (rupayRanges.some(([low, high]) => iin >= low && iin <= high)) return "rupay";
  const matches = creditCardType(pan);
  const match = matches.find((type) => type.lengths.includes(pan.length)) ?? matches[0];
  if (!match) return "unknown";
  return names[match.type] ?? match.type;
}
