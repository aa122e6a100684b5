// Named crash points for the crash-consistency harness. With CORRIDOR_CRASH_POINT=<name> (and
// optionally CORRIDOR_CRASH_AFTER=<n>, default 1), the process kills itself with SIGKILL the n-th
// time it passes that point: no cleanup, no flush, like a power cut of the process. Unset, a crash
// point is one string comparison.

export const crashPoints = [
  /** The idempotency key is claimed (committed), nothing else done. */
  "after_idempotency_claim",
  /** The payment and its attempt are committed; the channel is about to be called. */
  "after_attempt_persisted",
  /** The channel answered; its answer is not yet recorded. */
  "after_channel_answered",
  /** The outcome is committed; the idempotent response is not yet stored nor sent. */
  "after_commit_before_response",
  /** A webhook was delivered; the delivery is not yet marked. */
  "inside_webhook_delivery",
  /** The janitor got the channel's answer to an inquiry; it is not yet applied. */
  "inside_janitor",
  /** A settlement report's lines, batches and bookings are written in its transaction; not yet committed. */
  "inside_settlement_import",
] as const;

export type CrashPoint = (typeof crashPoints)[number];

const armed = process.env.CORRIDOR_CRASH_POINT as CrashPoint | undefined;
let passesLeft = Number(process.env.CORRIDOR_CRASH_AFTER ?? 1);

if (armed !== undefined && !crashPoints.includes(armed)) throw new Error(`unknown CORRIDOR_CRASH_POINT ${armed}`);

export function crashPoint(name: CrashPoint): void {
  if (armed !== name) return;
  passesLeft -= 1;
  if (passesLeft <= 0) process.kill(process.pid, "SIGKILL");
}
