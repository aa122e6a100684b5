// The bank test (after Jepsen's): many clients race captures and refunds on the same payments and
// the same merchant accounts — through two API server processes on PostgreSQL. Money is conserved:
// the ledger balances, no refund total exceeds its capture, no update is lost (the balance read
// from the ledger equals what the payments say), and no flagged account is overdrawn.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { backend, call, cards } from "../helpers.ts";
import { seededRandom } from "../../src/random.ts";
import { Harness } from "./harness.ts";

const payments = Number(process.env.CHAOS_BANK_PAYMENTS ?? 40);
const racersPerPayment = Number(process.env.CHAOS_BANK_RACERS ?? 6);

describe(`bank test (${backend})`, () => {
  it(`conserves money under ${payments} payments × ${racersPerPayment} racing refunds and captures`, async () => {
    const harness = new Harness();
    const servers = backend === "postgres" ? 2 : 1;
    await harness.start(servers);
    const running = [];
    for (let i = 0; i < servers; i++) running.push(await harness.spawnServer(i));
    const urls = running.map((server) => server.url);
    const random = seededRandom(4242);
    const pick = () => urls[Math.floor(random() * urls.length)];
    try {
      const secret = await harness.createMerchant(urls[0]);
      const created = await Promise.all(
        Array.from({ length: payments }, (_, i) =>
          call(pick(), "POST", "/v1/payments", {
            key: secret,
            body: {
              amount: 1000, currency: i % 2 ? "usd" : "eur", confirm: true, capture_method: i % 3 === 0 ? "manual" : "automatic",
              payment_method_data: { type: "card", card: { number: cards.visa, exp_month: 12, exp_year: 2040, cvc: "123" } },
            },
          }),
        ),
      );
      assert.ok(created.every((response) => response.status === 200), created.map((r) => r.text).join("\n"));
      const races = created.flatMap((response) => {
        const payment = response.body;
        return Array.from({ length: racersPerPayment }, (_, racer) => {
          if (payment.status === "requires_capture" && racer < 2) {
            return call(pick(), "POST", `/v1/payments/${payment.id}/capture`, { key: secret, body: { amount_to_capture: 600 + racer * 100 } });
          }
          return call(pick(), "POST", "/v1/refunds", { key: secret, body: { payment: payment.id, amount: 150 + Math.floor(random() * 300) } });
        });
      });
      const answers = await Promise.all(races);
      const statuses = answers.map((answer) => answer.status);
      assert.ok(statuses.every((status) => status === 200 || status === 400), `unexpected statuses: ${statuses.join(",")}`);

      const expected: Record<string, number> = {};
      for (const response of created) {
        const current = (await call(urls[0], "GET", `/v1/payments/${response.body.id}`, { key: secret })).body;
        assert.ok(current.amount_refunded <= current.amount_received, `${current.id} refunded ${current.amount_refunded} of ${current.amount_received}`);
        const refunds = (await call(urls[0], "GET", `/v1/refunds?payment=${current.id}&limit=100`, { key: secret })).body.data;
        const refunded = refunds.filter((refund: { status: string }) => refund.status === "succeeded").reduce((sum: number, refund: { amount: number }) => sum + refund.amount, 0);
        assert.equal(refunded, current.amount_refunded, `${current.id}: refunds and payment agree`);
        expected[current.currency] = (expected[current.currency] ?? 0) + current.amount_received - current.amount_refunded;
      }
      const balance = (await call(urls[urls.length - 1], "GET", "/v1/balance", { key: secret })).body;
      const pending = Object.fromEntries(balance.pending.map((entry: { currency: string; amount: number }) => [entry.currency, entry.amount]));
      assert.deepEqual(pending, expected, "no lost update: the ledger balance equals what the payments say");
      const verify = (await call(urls[0], "GET", "/v1/admin/ledger/verify", { key: harness.admin_key })).body;
      assert.equal(verify.balanced, true, JSON.stringify(verify));
      assert.deepEqual(verify.violations, []);
      process.stdout.write(`${JSON.stringify({ chaos: "bank", backend, servers, payments, concurrent_requests: races.length, refunds_or_captures_accepted: statuses.filter((s) => s === 200).length, imbalance: 0 })}\n`);
    } finally {
      for (const server of running) {
        server.child.kill("SIGTERM");
        await server.exited;
      }
      await harness.stop();
    }
  });
});
