// The load generator: autocannon (programmatic API) with a unique Idempotency-Key per request.
// Each response is checked (200 and, for payments, status "succeeded"). Keys whose response never
// arrived (in flight when the run stopped, timed out) are replayed afterwards with the same key, so
// the bench knows exactly how many payments the server made.
import { randomBytes } from "node:crypto";
import autocannon, { type Result } from "autocannon";

export const paymentAmount = 1000;

export const paymentBody = JSON.stringify({
  amount: paymentAmount,
  currency: "usd",
  confirm: true,
  capture_method: "automatic",
  payment_method_data: { type: "card", card: { number: "4242424242424242", exp_month: 12, exp_year: 2030, cvc: "123" } },
});

export interface LoadTarget {
  url: string;
  path: string;
  secret: string;
  /** What a good answer is: 200 and this check on the parsed body. */
  expectStatus?: string;
}

export interface LoadOutcome {
  duration_s: number;
  requests: number;
  ok: number;
  /** 200 but not the expected body (e.g. a payment not succeeded). */
  not_succeeded: number;
  non2xx: number;
  status_counts: Record<string, number>;
  errors: number;
  timeouts: number;
  /** Keys sent (or built) whose answer never came back during the run. */
  unanswered_keys: string[];
  requests_per_s: number;
  ok_per_s: number;
  p50_ms: number;
  p90_ms: number;
  p99_ms: number;
  max_ms: number;
  sample_failure?: string;
}

export async function runLoad(target: LoadTarget, options: { connections: number; duration_s: number }): Promise<LoadOutcome> {
  const prefix = `bench_${randomBytes(6).toString("hex")}`;
  let sequence = 0;
  const outstanding = new Set<string>();
  const status_counts: Record<string, number> = {};
  let ok = 0;
  let not_succeeded = 0;
  let sample_failure: string | undefined;

  const instance = autocannon({
    url: target.url,
    connections: options.connections,
    pipelining: 1,
    duration: options.duration_s,
    timeout: 30,
    requests: [
      {
        method: "POST",
        path: target.path,
        headers: { "content-type": "application/json", authorization: `Bearer ${target.secret}` },
        body: paymentBody,
        // With one request in the list and pipelining 1, `context` belongs to this request until
        // its response has been recorded (autocannon resets it when it builds the next one).
        setupRequest: (request, context) => {
          const key = `${prefix}_${++sequence}`;
          context.key = key;
          outstanding.add(key);
          request.headers["idempotency-key"] = key;
          return request;
        },
        onResponse: (status, body, context) => {
          if (typeof context.key === "string") outstanding.delete(context.key);
          status_counts[status] = (status_counts[status] ?? 0) + 1;
          if (status !== 200) {
            sample_failure ??= `${status} ${body.slice(0, 300)}`;
            return;
          }
          if (target.expectStatus === undefined) {
            ok += 1;
            return;
          }
          let parsed: { status?: unknown } | undefined;
          try {
            parsed = JSON.parse(body) as { status?: unknown };
          } catch {
            parsed = undefined;
          }
          if (parsed?.status === target.expectStatus) ok += 1;
          else {
            not_succeeded += 1;
            sample_failure ??= `200 ${body.slice(0, 300)}`;
          }
        },
      },
    ],
  });
  const result: Result = await instance;
  const duration_s = result.duration;
  const answered = Object.values(status_counts).reduce((sum, count) => sum + count, 0);
  return {
    duration_s: round(duration_s, 2),
    requests: answered,
    ok,
    not_succeeded,
    non2xx: result.non2xx,
    status_counts,
    errors: result.errors,
    timeouts: result.timeouts,
    unanswered_keys: [...outstanding],
    requests_per_s: round(answered / duration_s, 1),
    ok_per_s: round(ok / duration_s, 1),
    p50_ms: result.latency.p50,
    p90_ms: result.latency.p90,
    p99_ms: result.latency.p99,
    max_ms: result.latency.max,
    sample_failure,
  };
}

/**
 * Sends each key once more with the same body. The server answers with the stored response (a
 * replay), or makes the payment now if the first request never arrived; 409 (still in flight)
 * is retried a bounded number of times. Returns how many ended as succeeded payments.
 */
export async function replayKeys(target: LoadTarget, keys: string[]): Promise<{ succeeded: number; failed: number; statuses: Record<string, number> }> {
  const concurrency = 16;
  const triesMax = 50;
  const statuses: Record<string, number> = {};
  let succeeded = 0;
  let failed = 0;
  let next = 0;
  async function one(key: string): Promise<void> {
    for (let attempt = 0; attempt < triesMax; attempt++) {
      const response = await fetch(`${target.url}${target.path}`, {
        method: "POST",
        headers: { "content-type": "application/json", authorization: `Bearer ${target.secret}`, "idempotency-key": key },
        body: paymentBody,
        signal: AbortSignal.timeout(30_000),
      });
      const text = await response.text();
      if (response.status === 409) {
        await new Promise((resolve) => setTimeout(resolve, 100));
        continue;
      }
      statuses[response.status] = (statuses[response.status] ?? 0) + 1;
      let status: unknown;
      try {
        status = (JSON.parse(text) as { status?: unknown }).status;
      } catch {
        status = undefined;
      }
      if (response.status === 200 && status === "succeeded") succeeded += 1;
      else failed += 1;
      return;
    }
    statuses["409_gave_up"] = (statuses["409_gave_up"] ?? 0) + 1;
    failed += 1;
  }
  async function worker(): Promise<void> {
    while (next < keys.length) await one(keys[next++]);
  }
  await Promise.all(Array.from({ length: Math.min(concurrency, keys.length) }, worker));
  return { succeeded, failed, statuses };
}

export function round(value: number, digits: number): number {
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
}
