// Integer money arithmetic for the sandbox settlement desks: bigint only, half-even rounding, and
// minor units written as decimal text. No float ever touches an amount here.

/** n / d rounded half to even; d must be positive. */
export function divideHalfEven(n: bigint, d: bigint): bigint {
  if (d <= 0n) throw new Error("programmer error: divisor must be positive");
  const q = n / d; // truncates toward zero
  const r = n % d;
  const twice = 2n * (r < 0n ? -r : r);
  const away = n < 0n ? q - 1n : q + 1n;
  if (twice < d) return q;
  if (twice > d) return away;
  return q % 2n === 0n ? q : away;
}

/** `amount` × `bps` / 10 000, half-even. */
export function basisPoints(amount: bigint, bps: number): bigint {
  return divideHalfEven(amount * BigInt(bps), 10_000n);
}

/** Non-negative minor units as decimal major units with exactly `exponent` fraction digits
 *  (1234, 2 → "12.34"; 5, 3 → "0.005"; 1234, 0 → "1234"). */
export function formatMinor(amount: bigint, exponent: number): string {
  if (amount < 0n) throw new Error("programmer error: formatMinor takes a non-negative amount");
  const digits = amount.toString();
  if (exponent === 0) return digits;
  const padded = digits.padStart(exponent + 1, "0");
  return `${padded.slice(0, padded.length - exponent)}.${padded.slice(padded.length - exponent)}`;
}

/** A safe-integer number for a bigint, or a programmer error (sandbox amounts are bounded). */
export function toSafe(amount: bigint): number {
  const value = Number(amount);
  if (!Number.isSafeInteger(value)) throw new Error(`programmer error: ${amount} is not a safe integer`);
  return value;
}

/** YYYY-MM-DD of an instant, UTC. */
export function utcDate(at: Date): string {
  return at.toISOString().slice(0, 10);
}
