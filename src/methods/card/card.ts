// Card facts from the number alone: Luhn check, brand by IIN prefix (longest match first, via
// `credit-card-type`, with the local schemes it lacks added), and length per brand.
import creditCardType from "credit-card-type";

creditCardType.addCard({
  niceType: "RuPay",
  type: "rupay",
  patterns: [[508500, 508999], [606985, 607984], [608001, 608500], [652150, 653149]],
  gaps: [4, 8, 12],
  lengths: [16],
  code: { name: "CVV", size: 3 },
});

const brandNames: Record<string, string> = {
  visa: "visa",
  mastercard: "mastercard",
  "american-express": "amex",
  "diners-club": "diners",
  discover: "discover",
  jcb: "jcb",
  unionpay: "unionpay",
  maestro: "maestro",
  mir: "mir",
  elo: "elo",
  hiper: "hiper",
  hipercard: "hipercard",
  troy: "troy",
  verve: "verve",
  naranja: "naranja",
  rupay: "rupay",
};

export function luhnValid(number: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = number.length - 1; i >= 0; i--) {
    let digit = number.charCodeAt(i) - 48;
    if (double) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
    double = !double;
  }
  return sum % 10 === 0;
}

export type CardCheck =
  | { ok: true; brand: string; cvc_length: number }
  | { ok: false; code: "invalid_number" | "unsupported_brand"; message: string };

export function checkCardNumber(number: string): CardCheck {
  if (!/^\d{12,19}$/.test(number)) return { ok: false, code: "invalid_number", message: "The card number must be 12 to 19 digits." };
  if (!luhnValid(number)) return { ok: false, code: "invalid_number", message: "The card number fails its check digit (Luhn)." };
  const match = creditCardType(number).find((type) => type.lengths.includes(number.length));
  if (!match) return { ok: false, code: "unsupported_brand", message: "The card number matches no supported card brand and length." };
  const brand = brandNames[match.type];
  if (!brand) return { ok: false, code: "unsupported_brand", message: "The card brand is not supported." };
  return { ok: true, brand, cvc_length: match.code.size };
}

export function cardExpired(exp_month: number, exp_year: number, now = new Date()): boolean {
  const year = now.getUTCFullYear();
  const month = now.getUTCMonth() + 1;
  return exp_year < year || (exp_year === year && exp_month < month);
}
