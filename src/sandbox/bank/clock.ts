// The sandbox bank's simulated clock: real time plus an offset the tests move forward
// (`POST /_sandbox/clock/advance`). Debits settle by it and the platform account books by it, so a
// test that advances the clock also closes the day of the account's statement.
export interface SandboxClock {
  /** Milliseconds since the epoch, as the bank sees them. */
  now(): number;
  /** How far the bank is ahead of real time. */
  offset_ms: number;
}

export function createSandboxClock(): SandboxClock {
  return {
    offset_ms: 0,
    now() {
      return Date.now() + this.offset_ms;
    },
  };
}
