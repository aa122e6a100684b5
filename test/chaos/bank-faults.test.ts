// Money stays right in the bank families under faults. A seeded, randomized run (fast-check draws
// the plans from CHAOS_SEED) drives, through the HTTP API and the sandbox bank, with bounded
// concurrency:
//   - bank-transfer payments (ID VA, MX CLABE, BR Pix) under random amount_mismatch_policy, paid
//     exactly, under, over, in parts, after expiry, after the merchant canceled, or never; each
//     transfer from a sender whose account may be closed (the bank rejects the payout back), its
//     notification sometimes dropped and sometimes re-sent as a signed duplicate;
//   - reusable virtual accounts (open/closed amount, single/multi use, some expiring or
//     deactivated) receiving random transfers under the same faults;
//   - SEPA and ACH mandates with debits on the sandbox's test accounts (settling, returned before
//     or after settlement), lost submission answers, the simulated clock advanced with notices
//     sometimes dropped, ACH re-presentments where allowed (and refused where not);
//   - merchant refunds of succeeded transfers (to a destination) and settled debits (to the
//     mandate's account), some to accounts the bank rejects.
// On PostgreSQL a second Corridor on the same database serves half the requests and runs its own
// janitor. Then it waits (bounded) until nothing is pending and reconciles Corridor against the
// bank's own records (collections, debits, payouts): every transfer booked once and split between
// merchant and customer, every owed amount paid back or still owed after a rejected payout, no
// canceled payment holding money, debits and returns matched one to one, payouts matched to
// refunds, the ledger and the merchant's balance agreeing, no 5xx, nothing open past its expiry.
// One JSON summary line; 0 mismatches required.
//   CHAOS_PAYMENTS (100: bank-transfer payments; virtual accounts and mandates scale with it),
//   CHAOS_CONCURRENCY (4), CHAOS_SEED (20240611)
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { composeIBAN } from "ibantools";
import { accountBalance, accountId } from "../../src/ledger/ledger.ts";
import { clabeCheckDigit } from "../../src/methods/bank-transfer/clabe.ts";
import { parseEmv } from "../../src/methods/bank-transfer/pix.ts";
import { signSbank } from "../../src/sandbox/bank/index.ts";
import { toSafeNumber } from "../../src/store/db.ts";
import { backend, call, createMerchant, startStack, type Merchant, type Stack } from "../helpers.ts";

const PAYMENTS = Number(process.env.CHAOS_PAYMENTS ?? 100);
const VIRTUAL_ACCOUNTS = Math.max(1, Math.ceil(PAYMENTS / 3));
const MANDATES = Math.max(2, Math.ceil(PAYMENTS / 2));
const CONCURRENCY = Number(process.env.CHAOS_CONCURRENCY ?? 4);
const SEED = Number(process.env.CHAOS_SEED ?? 20240611);
/** How long everything may take to come to rest after the drive (janitor every 100 ms). */
const SETTLE_TIMEOUT_MS = 120_000;
/** How long a driver waits for one payment to reach a state before it moves on. */
const STATE_WAIT_MS = 20_000;
const POLL_INTERVAL_MS = 200;
/** Short instructions (seconds): long enough to pay in time, short enough to expire during the run. */
const SHORT_EXPIRY_S = 3;
const NOTIFICATION_SECRET = "sbank_sandbox_notification_secret";

type Country = "ID" | "MX" | "BR";
const currencyOf: Record<Country, string> = { ID: "idr", MX: "mxn", BR: "brl" };

// ---- accounts the sandbox bank knows (src/sandbox/bank/payouts.ts, debits.ts) ----

/** A valid CLABE whose last four digits are 0000: the payout desk answers account_closed. */
function closedClabe(): string {
  for (let n = 0; n < 10_000; n++) {
    const first17 = `0121800${String(n).padStart(7, "0")}000`;
    if (clabeCheckDigit(first17) === 0) return `${first17}0`;
  }
  throw new Error("no CLABE ending in 0000");
}

/** A customer's account per country: one the bank pays out to, one it rejects (closed). */
const customerAccounts: Record<Country, { paid: { account: string; bank?: string }; closed: { account: string; bank?: string } }> = {
  ID: { paid: { account: "8800555123", bank: "bni" }, closed: { account: "8800550000", bank: "bni" } },
  MX: { paid: { account: "012180015025674929" }, closed: { account: closedClabe() } },
  BR: { paid: { account: "payer@pix.example" }, closed: { account: "closed@pix.example" } },
};

const sepaIbanEnding0000 = composeIBAN({ countryCode: "DE", bban: "370400440532010000" });
assert.ok(sepaIbanEnding0000, "a valid German IBAN ending in 0000");

type DebitAccountKind = "settles" | "settles_payout_rejected" | "returned_before" | "returned_after" | "r01_once" | "r01_always";
/** The sandbox's test accounts: what the bank does with a debit on each. */
const sepaAccounts: Record<Exclude<DebitAccountKind, "r01_once" | "r01_always">, string[]> = {
  settles: ["DE89370400440532013000"],
  settles_payout_rejected: [sepaIbanEnding0000!],
  returned_before: ["DE24370400440000000404", "DE73370400440000000104"], // AM04, AC04
  returned_after: ["DE02370400440000000606"], // MD06
};
const achAccounts: Record<DebitAccountKind, string[]> = {
  settles: ["000123456789"],
  settles_payout_rejected: ["000123450000"],
  returned_before: ["000000000002", "000000000003"], // R02, R03
  returned_after: ["000000000010", "000000000029"], // R10, R29
  r01_once: ["000000000001", "000000000009"], // R01, R09: first presentment only
  r01_always: ["000000000011"], // R01 on every presentment
};
const ACH_ROUTING = "110000000";

// ---- the plans (drawn by fast-check from the seed) ----

const transferFaults = fc.record({
  duplicates: fc.integer({ min: 0, max: 2 }),
  sender: fc.constantFrom<"paid" | "closed">("paid", "paid", "paid", "closed"),
});

/** How the merchant's client retries a refund (same idempotency key): not, after the answer, or while in flight. */
type RefundRetry = "none" | "after_answer" | "in_flight";
const retryKinds = fc.constantFrom<RefundRetry>("none", "none", "after_answer", "in_flight");

const bankTransferPlan = fc.record({
  country: fc.constantFrom<Country>("ID", "MX", "BR"),
  amount_factor: fc.integer({ min: 1, max: 400 }),
  policy: fc.constantFrom("reject", "accept_partial", "accept_and_refund_excess"),
  customer: fc.constantFrom("exact", "exact", "under", "over", "partials", "late", "after_cancel", "cancel_race", "under_then_expiry", "under_then_cancel", "never"),
  /** Partial transfers sent at once rather than one after the other. */
  concurrent: fc.boolean(),
  parts: fc.integer({ min: 2, max: 3 }),
  share: fc.integer({ min: 10, max: 90 }),
  transfers: fc.array(transferFaults, { minLength: 3, maxLength: 3 }),
  drop_rate: fc.integer({ min: 0, max: 99 }),
  refund: fc.option(fc.record({ full: fc.boolean(), destination: fc.constantFrom<"paid" | "closed">("paid", "paid", "closed"), retry: retryKinds }), { freq: 2 }),
});

const virtualAccountPlan = fc.record({
  country: fc.constantFrom<"ID" | "MX">("ID", "MX"),
  amount_type: fc.constantFrom<"open" | "closed">("open", "closed"),
  amount_factor: fc.integer({ min: 1, max: 400 }),
  usage: fc.constantFrom<"multi_use" | "single_use">("multi_use", "single_use"),
  short_expiry: fc.integer({ min: 0, max: 4 }).map((n) => n === 0),
  transfers: fc.array(
    fc.record({ exact: fc.boolean(), faults: transferFaults, drop_rate: fc.integer({ min: 0, max: 99 }), deactivate_before: fc.integer({ min: 0, max: 6 }).map((n) => n === 0) }),
    { minLength: 1, maxLength: 3 },
  ),
  refund: fc.option(fc.record({ full: fc.boolean(), destination: fc.constantFrom<"paid" | "closed">("paid", "closed"), retry: retryKinds }), { freq: 3 }),
});

const mandatePlan = fc.record({
  scheme: fc.constantFrom<"sepa" | "ach">("sepa", "ach"),
  sepa_b2b: fc.integer({ min: 0, max: 3 }).map((n) => n === 0),
  kind: fc.constantFrom<DebitAccountKind>("settles", "settles", "settles_payout_rejected", "returned_before", "returned_after", "r01_once", "r01_always"),
  pick: fc.nat(),
  debits: fc.integer({ min: 1, max: 2 }),
  amount: fc.integer({ min: 100, max: 500_000 }),
  lose_answer: fc.integer({ min: 0, max: 5 }).map((n) => n === 0),
  represent: fc.integer({ min: 0, max: 4 }).map((n) => n !== 0),
  /** early: refunded as soon as it settles, before any return after settlement can come. */
  refund: fc.option(fc.record({ full: fc.boolean(), early: fc.boolean() }), { freq: 2 }),
});

/** Notifications are dropped for one transfer in five (the drop_rate draw keeps it seeded). */
const DROP_PERCENT = 20;

// ---- the run's state ----

let stack: Stack;
/** PostgreSQL: a second Corridor on the same database (its own API and janitor), as in production. */
let second: Stack | undefined;
let merchant: Merchant;
let requestsSent = 0;
/** The API server for the next request: the two servers in turn when there are two. */
const serverUrl = () => (second && requestsSent++ % 2 === 1 ? second.url : stack.url);

const counts = {
  bank_transfer_payments: 0, virtual_accounts: 0, mandates: 0, debit_payments: 0, transfers_sent: 0, refunds_requested: 0,
  refunds_to_rejected_accounts: 0, cancels: 0, deactivations: 0, representments: 0, representments_refused: 0, clock_advances: 0,
};
const faults = {
  dropped_notifications: 0, duplicate_notifications: 0, late_transfers: 0, lost_debit_answers: 0, dropped_debit_notices: 0, duplicate_debit_notices: 0,
  idempotent_refund_retries: 0, concurrent_refund_retries: 0,
};
const mandatesByScheme: Record<string, number> = {};
const api5xx: string[] = [];
const driveProblems: string[] = [];

async function api(method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await call(serverUrl(), method, path, { key: merchant.secret, ...(body === undefined ? {} : { body }), headers });
  if (response.status >= 500) api5xx.push(`${method} ${path} → ${response.status}: ${response.text.slice(0, 200)}`);
  return response;
}

async function bank(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
  const response = await fetch(`${stack.sandboxes.sandboxbank.url}${path}`, {
    method, headers: { "content-type": "application/json" }, ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: await response.json() };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Polls a payment until `check` holds or the wait ends; the last view either way. */
async function paymentWhen(id: string, check: (payment: any) => boolean, timeout_ms = STATE_WAIT_MS): Promise<any> {
  const deadline = Date.now() + timeout_ms;
  for (;;) {
    const payment = (await api("GET", `/v1/payments/${id}`)).body;
    if (check(payment) || Date.now() > deadline) return payment;
    await sleep(POLL_INTERVAL_MS);
  }
}

/** Runs `work` over `items` with at most `limit` at a time. */
async function pool<T>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    for (let index = next++; index < items.length; index = next++) await work(items[index]!, index);
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}

// ---- customers' transfers ----

interface TransferFaults {
  duplicates: number;
  sender: "paid" | "closed";
}

/** A customer's transfer at the bank, with its notification faults. */
async function customerTransfer(reference: string, merchant_ref: string, currency: string, country: Country, amount: number, transferFaults: TransferFaults, drop: boolean) {
  const account = customerAccounts[country][transferFaults.sender];
  const sender = { name: "Chaos Payer", ...account };
  const sent = await bank("POST", "/transfers", { reference, amount, sender, drop_notification: drop });
  counts.transfers_sent++;
  if (sent.status !== 201) {
    driveProblems.push(`transfer to ${reference} answered ${sent.status}: ${JSON.stringify(sent.body)}`);
    return;
  }
  if (drop) faults.dropped_notifications++;
  const transfer = sent.body.transfer;
  const notification = JSON.stringify({
    event: "transfer.received", collection_id: transfer.collection_id, merchant_ref, transfer_id: transfer.transfer_id,
    amount, currency: currency.toUpperCase(), received_at: transfer.received_at,
  });
  // Re-sent (or, after a drop, late) notifications, at once and to either server: valid signatures, the same transfer.
  await Promise.all(Array.from({ length: transferFaults.duplicates }, async () => {
    const again = await call(serverUrl(), "POST", "/v1/channels/sandboxbank/notifications", {
      raw: notification, headers: { "x-sbank-signature": signSbank(NOTIFICATION_SECRET, notification) },
    });
    faults.duplicate_notifications++;
    if (again.status >= 500) api5xx.push(`notification ${transfer.transfer_id} → ${again.status}: ${again.text.slice(0, 200)}`);
  }));
}

/** Where the customer sends the money: the VA number, the CLABE, or the Pix txid. */
function payTo(payment: any): string {
  const instructions = payment.next_action.display_bank_transfer_instructions;
  if (instructions.type === "id_virtual_account") return instructions.account_number;
  if (instructions.type === "mx_clabe") return instructions.clabe;
  return parseEmv(parseEmv(instructions.pix_copy_paste)!.get("62")!)!.get("05")!;
}

function baseAmount(country: Country, factor: number): number {
  return country === "ID" ? factor * 50_000 : country === "MX" ? factor * 1_250 + 50 : factor * 100 + 90;
}

/** The amounts the customer sends, by the plan. */
function transferAmounts(plan: BankTransferPlan, amount: number): number[] {
  const under = Math.max(1, Math.floor((amount * plan.share) / 100));
  switch (plan.customer) {
    case "exact":
    case "late":
    case "after_cancel":
    case "cancel_race":
      return [amount];
    case "under":
    case "under_then_expiry":
    case "under_then_cancel":
      return [under];
    case "over":
      return [amount + under];
    case "partials": {
      const parts: number[] = [];
      let left = amount;
      for (let i = 0; i < plan.parts - 1 && left > 1; i++) {
        const part = Math.max(1, Math.floor(left * plan.share / 100));
        parts.push(part);
        left -= part;
      }
      parts.push(left);
      return parts;
    }
    default:
      return [];
  }
}

type BankTransferPlan = typeof bankTransferPlan extends fc.Arbitrary<infer T> ? T : never;
type VirtualAccountPlan = typeof virtualAccountPlan extends fc.Arbitrary<infer T> ? T : never;
type MandatePlan = typeof mandatePlan extends fc.Arbitrary<infer T> ? T : never;

async function driveBankTransfer(plan: BankTransferPlan, index: number): Promise<void> {
  const amount = baseAmount(plan.country, plan.amount_factor);
  const shortExpiry = plan.customer === "late" || plan.customer === "never" || plan.customer === "under_then_expiry";
  const created = await api("POST", "/v1/payments", {
    amount, currency: currencyOf[plan.country], confirm: true, amount_mismatch_policy: plan.policy, metadata: { chaos: `bt-${index}` },
    payment_method_data: { type: "bank_transfer", bank_transfer: { country: plan.country, ...(shortExpiry ? { expires_in: SHORT_EXPIRY_S } : {}) } },
  }, { "idempotency-key": `bank-chaos-${SEED}-bt-${index}` });
  if (created.status !== 200 || created.body.status !== "requires_action") {
    driveProblems.push(`bank transfer ${index}: ${created.status} ${created.text.slice(0, 200)}`);
    return;
  }
  counts.bank_transfer_payments++;
  const payment = created.body;
  const reference = payTo(payment);
  const merchant_ref = payment.attempts[0].id;
  if (plan.customer === "late") {
    const expires_ms = payment.expires_at * 1000;
    await sleep(Math.max(0, expires_ms - Date.now()) + 1_200);
    faults.late_transfers++;
  }
  if (plan.customer === "after_cancel") {
    const canceled = await api("POST", `/v1/payments/${payment.id}/cancel`, { cancellation_reason: "abandoned" });
    counts.cancels++;
    if (canceled.status !== 200) driveProblems.push(`cancel ${payment.id}: ${canceled.status} ${canceled.text.slice(0, 200)}`);
  }
  const amounts = transferAmounts(plan, amount);
  const send = (part: number, i: number) => {
    const transferFaults = plan.transfers[i % plan.transfers.length]!;
    const drop = (plan.drop_rate + i * 37) % 100 < DROP_PERCENT;
    return customerTransfer(reference, merchant_ref, payment.currency, plan.country, part, transferFaults, drop);
  };
  if (plan.customer === "cancel_race") {
    // The merchant cancels while the customer's money arrives: either wins, the money is never lost.
    const [canceled] = await Promise.all([api("POST", `/v1/payments/${payment.id}/cancel`, {}), send(amount, 0)]);
    counts.cancels++;
    if (canceled.status !== 200 && canceled.status !== 400) driveProblems.push(`cancel race ${payment.id}: ${canceled.status} ${canceled.text.slice(0, 200)}`);
  } else if (plan.concurrent) {
    await Promise.all(amounts.map(send));
  } else {
    for (const [i, part] of amounts.entries()) await send(part, i);
  }
  if (plan.customer === "under_then_cancel") {
    // The customer paid part (booked, or its notification lost); the merchant gives up waiting.
    await paymentWhen(payment.id, (p) => p.amount_received > 0 || p.amount_refund_due > 0, 1_500);
    const canceled = await api("POST", `/v1/payments/${payment.id}/cancel`, { cancellation_reason: "abandoned" });
    counts.cancels++;
    if (canceled.status !== 200) driveProblems.push(`cancel ${payment.id} after a partial payment: ${canceled.status} ${canceled.text.slice(0, 200)}`);
  }
  if (!plan.refund) return;
  const paid = await paymentWhen(payment.id, (p) => p.status === "succeeded", 3_000);
  if (paid.status !== "succeeded") return; // not paid, or its notification dropped and not found yet
  const destination = { type: "bank_account", account_holder_name: "Chaos Customer", country: plan.country, ...customerAccounts[plan.country][plan.refund.destination] };
  const refundable = paid.amount_received - paid.amount_refunded;
  const body = { payment: payment.id, ...(plan.refund.full ? {} : { amount: Math.max(1, Math.floor(refundable / 3)) }), destination };
  await merchantRefund(body, `bank-chaos-${SEED}-bt-${index}-refund`, plan.refund.retry, plan.refund.destination === "closed");
}

async function merchantRefund(body: Record<string, unknown>, key: string, retry: RefundRetry, toRejectedAccount: boolean): Promise<void> {
  counts.refunds_requested++;
  if (toRejectedAccount) counts.refunds_to_rejected_accounts++;
  if (retry === "in_flight") {
    // The client retries while its first request is still in flight: one refund, whatever each sees.
    faults.concurrent_refund_retries++;
    const answers = await Promise.all([0, 1].map(() => api("POST", "/v1/refunds", body, { "idempotency-key": key })));
    const ids = new Set(answers.filter((answer) => answer.status === 200).map((answer) => answer.body.id));
    const unexpected = answers.filter((answer) => answer.status !== 200 && answer.status !== 409);
    if (ids.size !== 1 || unexpected.length > 0) driveProblems.push(`concurrent refund retries ${key}: ${answers.map((answer) => `${answer.status} ${answer.body?.id ?? answer.text.slice(0, 120)}`).join(" / ")}`);
    return;
  }
  const first = await api("POST", "/v1/refunds", body, { "idempotency-key": key });
  if (first.status !== 200) {
    driveProblems.push(`refund ${key}: ${first.status} ${first.text.slice(0, 200)}`);
    return;
  }
  if (retry === "none") return;
  faults.idempotent_refund_retries++;
  const again = await api("POST", "/v1/refunds", body, { "idempotency-key": key });
  if (again.status !== 200 || again.body.id !== first.body.id) driveProblems.push(`refund retry ${key} made ${again.body?.id} instead of ${first.body.id}`);
}

/** Refunds each succeeded debit of the mandates given (to the mandate's account). */
async function refundDebits(mandates: DrivenMandate[]): Promise<void> {
  await pool(mandates, CONCURRENCY, async (driven) => {
    for (const id of driven.payments) {
      const payment = (await api("GET", `/v1/payments/${id}`)).body;
      if (payment.status !== "succeeded" || payment.amount_refunded > 0) continue;
      const body = { payment: id, ...(driven.plan.refund!.full ? {} : { amount: Math.max(1, Math.floor(payment.amount / 4)) }) };
      await merchantRefund(body, `bank-chaos-${SEED}-${id}-refund`, "none", driven.plan.kind === "settles_payout_rejected");
    }
  });
}

async function driveVirtualAccount(plan: VirtualAccountPlan, index: number): Promise<void> {
  const amount = baseAmount(plan.country, plan.amount_factor);
  const created = await api("POST", "/v1/virtual_accounts", {
    country: plan.country, customer: `cus_chaos_${index}`, amount_type: plan.amount_type, usage: plan.usage,
    ...(plan.amount_type === "closed" ? { amount } : {}), ...(plan.short_expiry ? { expires_in: SHORT_EXPIRY_S } : {}),
  });
  if (created.status !== 200) {
    driveProblems.push(`virtual account ${index}: ${created.status} ${created.text.slice(0, 200)}`);
    return;
  }
  counts.virtual_accounts++;
  const va = created.body;
  const reference: string = va.account_number ?? va.clabe;
  for (const [i, step] of plan.transfers.entries()) {
    if (step.deactivate_before) {
      const deactivated = await api("POST", `/v1/virtual_accounts/${va.id}/deactivate`);
      if (deactivated.status === 200) counts.deactivations++;
      else if (deactivated.status !== 400) driveProblems.push(`deactivate ${va.id}: ${deactivated.status} ${deactivated.text.slice(0, 200)}`);
    }
    if (plan.short_expiry && i === plan.transfers.length - 1) {
      await sleep(SHORT_EXPIRY_S * 1000 + 1_200); // the last one after expiry
      faults.late_transfers++;
    }
    const sent = step.exact || plan.amount_type === "open" ? amount + (plan.amount_type === "open" ? i * 1_000 : 0) : amount + 1;
    const drop = (step.drop_rate + i * 37) % 100 < DROP_PERCENT;
    await customerTransfer(reference, va.id, va.currency, plan.country, sent, step.faults, drop);
  }
  if (!plan.refund) return;
  // The merchant refunds the first payment made into the account, when one succeeded.
  await sleep(1_000);
  const listed = (await api("GET", "/v1/payments?limit=100")).body.data as any[];
  const paid = listed.find((payment) => payment.payment_method_details?.bank_transfer?.virtual_account === va.id && payment.status === "succeeded");
  if (!paid) return;
  const destination = { type: "bank_account", account_holder_name: "Chaos Customer", country: plan.country, ...customerAccounts[plan.country][plan.refund.destination] };
  const body = { payment: paid.id, ...(plan.refund.full ? {} : { amount: Math.max(1, Math.floor(paid.amount_received / 2)) }), destination };
  await merchantRefund(body, `bank-chaos-${SEED}-va-${index}-refund`, plan.refund.retry, plan.refund.destination === "closed");
}

// ---- direct debits ----

interface DrivenMandate {
  plan: MandatePlan;
  mandate: any;
  payments: string[];
}

async function createMandate(plan: MandatePlan, index: number): Promise<DrivenMandate | undefined> {
  const table = plan.scheme === "sepa" ? (sepaAccounts as Record<string, string[]>) : achAccounts;
  const kind = plan.scheme === "sepa" && (plan.kind === "r01_once" || plan.kind === "r01_always") ? "returned_before" : plan.kind;
  const accounts = table[kind]!;
  const account = accounts[plan.pick % accounts.length]!;
  const body = plan.scheme === "sepa"
    ? { type: "sepa_debit", sepa_debit: { iban: account, account_holder_name: "Chaos Debtor", scheme: plan.sepa_b2b ? "b2b" : "core" }, customer: `cus_debit_${index}` }
    : { type: "ach_debit", ach_debit: { routing_number: ACH_ROUTING, account_number: account, account_type: "checking", account_holder_name: "Chaos Debtor" }, customer: `cus_debit_${index}` };
  const created = await api("POST", "/v1/mandates", body);
  if (created.status !== 200) {
    driveProblems.push(`mandate ${index}: ${created.status} ${created.text.slice(0, 200)}`);
    return undefined;
  }
  counts.mandates++;
  mandatesByScheme[created.body.scheme] = (mandatesByScheme[created.body.scheme] ?? 0) + 1;
  return { plan: { ...plan, kind }, mandate: created.body, payments: [] };
}

async function collect(driven: DrivenMandate, index: number): Promise<void> {
  for (let i = 0; i < driven.plan.debits; i++) {
    if (driven.plan.lose_answer && i === 0) {
      const armed = await bank("POST", "/_sandbox/debits/faults", { lose_answers: 1 });
      if (armed.status === 200) faults.lost_debit_answers++;
    }
    const response = await api("POST", "/v1/payments", { amount: driven.plan.amount + i, currency: driven.mandate.currency, mandate: driven.mandate.id, confirm: true },
      { "idempotency-key": `bank-chaos-${SEED}-dd-${index}-${i}` });
    if (response.status === 200) {
      counts.debit_payments++;
      driven.payments.push(response.body.id);
    } else if (!(response.status === 400 && response.body.error?.code === "mandate_inactive")) {
      driveProblems.push(`debit under ${driven.mandate.id}: ${response.status} ${response.text.slice(0, 200)}`);
    }
  }
}

/** Waits (bounded) until no debit payment is processing: the clock was advanced, notices may be lost. */
async function debitsDecided(mandates: DrivenMandate[], what: string): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  const ids = mandates.flatMap((driven) => driven.payments);
  for (;;) {
    const open: string[] = [];
    for (const id of ids) {
      const payment = (await api("GET", `/v1/payments/${id}`)).body;
      if (payment.status === "processing") open.push(id);
    }
    if (open.length === 0) return;
    if (Date.now() > deadline) {
      driveProblems.push(`${what}: debits still processing: ${open.join(", ")}`);
      return;
    }
    await sleep(POLL_INTERVAL_MS * 2);
  }
}

/** Waits (bounded) until every debit was received by the bank (a lost answer is submitted again by the janitor). */
async function debitsSubmitted(): Promise<void> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const row = await stack.corridor.ctx.db.get<{ n: unknown }>("SELECT COUNT(*) AS n FROM debits WHERE status = 'submitting'");
    if (toSafeNumber(row?.n ?? 0) === 0) return;
    if (Date.now() > deadline) {
      driveProblems.push("debits still submitting");
      return;
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

/**
 * Moves the bank's clock. The bank's days pass in an instant while Corridor's inquiry backoff runs
 * in real time (up to an hour between two inquiries of an old debit): notices are dropped only when
 * `drop_notifications` (the first rounds, while the debits are young and inquired often).
 */
async function advanceClock(days: number, drop_notifications = false): Promise<void> {
  const advanced = await bank("POST", "/_sandbox/clock/advance", { days, drop_notifications });
  assert.equal(advanced.status, 200, JSON.stringify(advanced.body));
  counts.clock_advances++;
  if (drop_notifications) faults.dropped_debit_notices += advanced.body.debits_changed;
}

/** The bank sends some decided debits' notices again (duplicates). */
async function renotifyDebits(round: number): Promise<void> {
  const debits = await db().all<{ attempt_id: string }>("SELECT attempt_id FROM debits WHERE status IN ('settled', 'returned') ORDER BY attempt_id");
  for (const [i, debit] of debits.entries()) {
    if ((i + round + SEED) % 3 !== 0) continue;
    const sent = await bank("POST", `/_sandbox/debits/${debit.attempt_id}/notify`);
    if (sent.status === 202) faults.duplicate_debit_notices++;
  }
}

async function representFailed(mandates: DrivenMandate[]): Promise<void> {
  await pool(mandates.filter((driven) => driven.plan.represent), CONCURRENCY, async (driven) => {
    for (const id of driven.payments) {
      const payment = (await api("GET", `/v1/payments/${id}`)).body;
      if (payment.status !== "failed") continue;
      const presented = await api("POST", `/v1/payments/${id}/represent`);
      if (presented.status === 200) counts.representments++;
      else if (presented.status === 400) counts.representments_refused++;
      else driveProblems.push(`represent ${id}: ${presented.status} ${presented.text.slice(0, 200)}`);
    }
  });
}

async function driveDebits(plans: MandatePlan[]): Promise<DrivenMandate[]> {
  const mandates: DrivenMandate[] = [];
  await pool(plans, CONCURRENCY, async (plan, index) => {
    const driven = await createMandate(plan, index);
    if (driven) mandates.push(driven);
  });
  await pool(mandates, CONCURRENCY, (driven, index) => collect(driven, index));
  // Settlement (2 banking days) or returns before it; then up to two re-presentments of ACH
  // R01/R09. Returns after settlement come 3 banking days after it: early refunds come before them.
  for (let round = 0; round < 3; round++) {
    await debitsSubmitted();
    await advanceClock(round === 0 ? 3 : 4, round < 2 && (SEED + round) % 2 === 1);
    await debitsDecided(mandates, `round ${round}`);
    await renotifyDebits(round);
    if (round === 0) await refundDebits(mandates.filter((driven) => driven.plan.refund?.early));
    if (round < 2) await representFailed(mandates);
  }
  await refundDebits(mandates.filter((driven) => driven.plan.refund && !driven.plan.refund.early));
  await advanceClock(6);
  await advanceClock(30);
  return mandates;
}

// ---- rest and reconciliation ----

const db = () => stack.corridor.ctx.db;

/** What is still moving: transfers not booked, money owed not sent back, refunds or debits pending, payments processing. */
async function stillOpen(): Promise<string[]> {
  const open: string[] = [];
  const collections = (await bank("GET", "/collections")).body.collections as any[];
  const booked = new Set((await db().all<{ transfer_id: string }>("SELECT transfer_id FROM bank_transfers_received")).map((row) => row.transfer_id));
  for (const collection of collections) {
    for (const transfer of collection.transfers) if (!booked.has(transfer.transfer_id)) open.push(`transfer ${transfer.transfer_id} to ${collection.merchant_ref} not booked`);
  }
  const unsent = await db().all<{ transfer_id: string }>("SELECT transfer_id FROM bank_transfers_received WHERE amount_refund_due > 0 AND return_refund_id IS NULL");
  for (const row of unsent) open.push(`transfer ${row.transfer_id}: owed money not sent back`);
  for (const row of await db().all<{ id: string }>("SELECT id FROM refunds WHERE status = 'pending'")) open.push(`refund ${row.id} pending`);
  for (const row of await db().all<{ attempt_id: string; status: string }>("SELECT attempt_id, status FROM debits WHERE status IN ('submitting', 'pending')")) {
    open.push(`debit ${row.attempt_id} ${row.status}`);
  }
  for (const row of await db().all<{ id: string }>("SELECT id FROM payments WHERE status = 'processing'")) open.push(`payment ${row.id} processing`);
  // The merchant canceled after part was paid: the janitor owes that part back on its next pass.
  const holding = await db().all<{ id: string }>("SELECT id FROM payments WHERE method_type = 'bank_transfer' AND status = 'canceled' AND amount_received > 0");
  for (const row of holding) open.push(`payment ${row.id} canceled holding money`);
  return open;
}

async function atRest(): Promise<string[]> {
  const deadline = Date.now() + SETTLE_TIMEOUT_MS;
  for (;;) {
    const open = await stillOpen();
    if (open.length === 0 || Date.now() > deadline) return open;
    await sleep(POLL_INTERVAL_MS * 2);
  }
}

const num = (value: unknown) => toSafeNumber(value ?? 0);

interface Reconciliation {
  mismatches: string[];
  transfers: Record<string, { arrived: number; applied: number; owed: number; paid_back: number; still_owed: number; count: number }>;
  debits: { settled: number; returned_before: number; returned_after: number; re_presented: number; failed_to_submit: number; refunded_then_returned: number };
  payouts: { paid: number; rejected: number };
  statuses: Record<string, number>;
}

async function reconcileTransfers(result: Reconciliation): Promise<void> {
  const { mismatches } = result;
  const collections = (await bank("GET", "/collections")).body.collections as any[];
  const rows = await db().all<Record<string, unknown>>(
    `SELECT r.*, p.currency AS currency, p.virtual_account_id AS virtual_account_id FROM bank_transfers_received r JOIN payments p ON p.id = r.payment_id`,
  );
  const byTransfer = new Map<string, Record<string, unknown>[]>();
  for (const row of rows) byTransfer.set(row.transfer_id as string, [...(byTransfer.get(row.transfer_id as string) ?? []), row]);
  const atBank = new Set<string>();
  for (const collection of collections) {
    const currency = (collection.currency as string).toUpperCase();
    for (const transfer of collection.transfers) {
      atBank.add(transfer.transfer_id);
      const totals = (result.transfers[currency] ??= { arrived: 0, applied: 0, owed: 0, paid_back: 0, still_owed: 0, count: 0 });
      totals.arrived += transfer.amount;
      totals.count++;
      const booked = byTransfer.get(transfer.transfer_id) ?? [];
      if (booked.length !== 1) {
        mismatches.push(`transfer ${transfer.transfer_id} (${transfer.amount} ${currency}) booked ${booked.length} times`);
        continue;
      }
      const row = booked[0]!;
      const [amount, applied, owed] = [num(row.amount), num(row.amount_applied), num(row.amount_refund_due)];
      const owner = collection.merchant_ref.startsWith("va_") ? row.virtual_account_id : row.attempt_id;
      if (owner !== collection.merchant_ref) mismatches.push(`transfer ${transfer.transfer_id} booked on ${owner}, sent to ${collection.merchant_ref}`);
      if (amount !== transfer.amount || applied + owed !== amount || applied < 0 || owed < 0) {
        mismatches.push(`transfer ${transfer.transfer_id}: bank ${transfer.amount}, booked ${amount} = applied ${applied} + owed ${owed}`);
      }
      totals.applied += applied;
      totals.owed += owed;
      if (owed > 0) await reconcileOwed(result, row, transfer, totals);
    }
  }
  for (const row of rows) if (!atBank.has(row.transfer_id as string)) mismatches.push(`Corridor booked ${row.transfer_id}, which the bank never received`);
  const activePastExpiry = await db().all<{ id: string }>("SELECT id FROM virtual_accounts WHERE status = 'active' AND expires_ms < ?", [Date.now() - 2_000]);
  for (const va of activePastExpiry) mismatches.push(`virtual account ${va.id} still active past its expiry`);

  // Each payment shows what its transfers say.
  const payments = await db().all<Record<string, unknown>>(
    `SELECT p.id, p.status, p.amount, p.amount_received, p.amount_refund_due, p.expires_ms,
            COALESCE(SUM(r.amount_applied), 0) AS applied, COALESCE(SUM(r.amount_refund_due), 0) AS owed
       FROM payments p LEFT JOIN bank_transfers_received r ON r.payment_id = p.id
      WHERE p.method_type = 'bank_transfer' GROUP BY p.id, p.status, p.amount, p.amount_received, p.amount_refund_due, p.expires_ms`,
  );
  for (const payment of payments) {
    result.statuses[`bank_transfer_${payment.status}`] = (result.statuses[`bank_transfer_${payment.status}`] ?? 0) + 1;
    if (num(payment.amount_received) !== num(payment.applied)) mismatches.push(`${payment.id}: received ${payment.amount_received}, transfers applied ${payment.applied}`);
    if (num(payment.amount_refund_due) !== num(payment.owed)) mismatches.push(`${payment.id}: refund due ${payment.amount_refund_due}, transfers owed ${payment.owed}`);
    if (payment.status === "succeeded" && num(payment.amount_received) !== num(payment.amount)) mismatches.push(`${payment.id}: succeeded with ${payment.amount_received} of ${payment.amount}`);
    // A closed payment that did not succeed keeps no money: it cannot be refunded, so it must be owed back.
    if (payment.status === "canceled" && num(payment.amount_received) !== 0) mismatches.push(`${payment.id}: canceled holding ${payment.amount_received} (neither refundable nor owed back)`);
    const openPastExpiry = (payment.status === "requires_action" || payment.status === "processing") && num(payment.expires_ms) < Date.now() - 2_000;
    if (openPastExpiry) mismatches.push(`${payment.id}: still ${payment.status} past its expiry`);
  }
}

/** One transfer with money owed back: one return_of_funds refund, paid at the bank or rejected (still owed). */
async function reconcileOwed(result: Reconciliation, row: Record<string, unknown>, transfer: any, totals: Reconciliation["transfers"][string]): Promise<void> {
  const owed = num(row.amount_refund_due);
  const refunds = await db().all<Record<string, unknown>>(
    "SELECT * FROM refunds WHERE payment_id = ? AND kind = 'return_of_funds'", [row.payment_id],
  );
  const mine = refunds.filter((refund) => JSON.parse(refund.metadata as string).transfer === transfer.transfer_id);
  if (mine.length !== 1 || mine[0]!.id !== row.return_refund_id) {
    result.mismatches.push(`transfer ${transfer.transfer_id}: ${mine.length} returns of funds (claimed ${row.return_refund_id})`);
    return;
  }
  const refund = mine[0]!;
  const payout = await bank("GET", `/payouts/${refund.id}`);
  if (num(refund.amount) !== owed) result.mismatches.push(`return ${refund.id}: ${refund.amount}, owed ${owed}`);
  if (payout.status !== 200) {
    result.mismatches.push(`return ${refund.id} (${refund.status}) is not at the bank`);
    return;
  }
  if (payout.body.payout.beneficiary.account !== transfer.sender.account) result.mismatches.push(`return ${refund.id} paid to ${payout.body.payout.beneficiary.account}, not the sender`);
  if (refund.status === "succeeded" && payout.body.payout.status === "paid") totals.paid_back += owed;
  else if (refund.status === "failed" && payout.body.payout.status === "rejected") totals.still_owed += owed;
  else result.mismatches.push(`return ${refund.id}: Corridor ${refund.status}, bank ${payout.body.payout.status}`);
}

async function reconcileDebits(result: Reconciliation): Promise<void> {
  const { mismatches } = result;
  const atBank = new Map(((await bank("GET", "/debits")).body.debits as any[]).map((debit) => [debit.merchant_ref, debit]));
  const ours = await db().all<Record<string, unknown>>("SELECT * FROM debits ORDER BY payment_id, presentment");
  const known = new Set(ours.map((debit) => debit.attempt_id as string));
  for (const ref of atBank.keys()) if (!known.has(ref)) mismatches.push(`the bank holds debit ${ref}, which Corridor does not know`);
  const lastOf = new Map<string, Record<string, unknown>>();
  for (const debit of ours) {
    lastOf.set(debit.payment_id as string, debit);
    if (num(debit.presentment) > 1) result.debits.re_presented++;
    const theirs = atBank.get(debit.attempt_id as string);
    if (!theirs) {
      if (debit.status === "failed") result.debits.failed_to_submit++;
      else mismatches.push(`debit ${debit.attempt_id} is ${debit.status} in Corridor and unknown to the bank`);
      continue;
    }
    if (theirs.amount !== num(debit.amount)) mismatches.push(`debit ${debit.attempt_id}: bank ${theirs.amount}, Corridor ${debit.amount}`);
    const returns = await db().all<Record<string, unknown>>("SELECT * FROM debit_returns WHERE attempt_id = ?", [debit.attempt_id]);
    const sales = num((await db().get<{ n: unknown }>("SELECT COUNT(*) AS n FROM ledger_transfers WHERE ref = ? AND code = 'capture'", [debit.attempt_id]))?.n);
    const settledAtBank = theirs.settled_at !== null;
    if (theirs.status === "settled") {
      result.debits.settled++;
      if (debit.status !== "settled" || returns.length !== 0) mismatches.push(`debit ${debit.attempt_id}: settled at the bank, ${debit.status} in Corridor`);
    } else if (theirs.status === "returned") {
      if (settledAtBank) result.debits.returned_after++;
      else result.debits.returned_before++;
      const ret = returns[0];
      if (debit.status !== "returned" || returns.length !== 1 || ret!.return_id !== theirs.return.return_id || ret!.reason_code !== theirs.return.reason_code ||
        num(ret!.after_settlement) !== (settledAtBank ? 1 : 0)) {
        mismatches.push(`debit ${debit.attempt_id}: returned ${theirs.return.reason_code} at the bank (after settlement: ${settledAtBank}), Corridor ${debit.status} with ${JSON.stringify(returns)}`);
      }
      if (settledAtBank) {
        const reversals = num((await db().get<{ n: unknown }>("SELECT COUNT(*) AS n FROM ledger_transfers WHERE ref = ? AND code = 'debit_return'", [theirs.return.return_id]))?.n);
        if (reversals !== 1) mismatches.push(`debit ${debit.attempt_id}: ${reversals} reversal transfers for return ${theirs.return.return_id}`);
        const returned = await db().get<{ n: unknown }>("SELECT COUNT(*) AS n FROM events WHERE object_id = ? AND type = 'payment.returned'", [debit.payment_id]);
        if (num(returned?.n) < 1) mismatches.push(`debit ${debit.attempt_id}: returned after settlement without payment.returned`);
        const refunded = await db().get<{ n: unknown }>("SELECT COUNT(*) AS n FROM refunds WHERE payment_id = ? AND status = 'succeeded'", [debit.payment_id]);
        if (num(refunded?.n) > 0) result.debits.refunded_then_returned++;
      }
    } else {
      mismatches.push(`debit ${debit.attempt_id} still ${theirs.status} at the bank`);
    }
    if (sales !== (settledAtBank ? 1 : 0)) mismatches.push(`debit ${debit.attempt_id}: ${sales} sales booked (settled at the bank: ${settledAtBank})`);
  }
  // The payment follows its last presentment.
  for (const [payment_id, last] of lastOf) {
    const payment = (await db().get<Record<string, unknown>>("SELECT status, amount, amount_received FROM payments WHERE id = ?", [payment_id]))!;
    result.statuses[`direct_debit_${payment.status}`] = (result.statuses[`direct_debit_${payment.status}`] ?? 0) + 1;
    const expected = last.status === "settled" ? "succeeded" : "failed";
    if (payment.status !== expected) mismatches.push(`${payment_id}: ${payment.status}, its last debit is ${last.status}`);
  }
}

/** Every payout at the bank is a refund of Corridor's, and agrees with it; every refund that reached the bank is there. */
async function reconcilePayouts(result: Reconciliation): Promise<void> {
  const payouts = new Map(((await bank("GET", "/payouts")).body.payouts as any[]).map((payout) => [payout.merchant_ref, payout]));
  const refunds = await db().all<Record<string, unknown>>("SELECT * FROM refunds");
  const ours = new Set(refunds.map((refund) => refund.id as string));
  for (const ref of payouts.keys()) if (!ours.has(ref)) result.mismatches.push(`the bank paid out ${ref}, which Corridor does not know`);
  for (const refund of refunds) {
    const payout = payouts.get(refund.id as string);
    if (!payout) {
      if (refund.status !== "failed") result.mismatches.push(`refund ${refund.id} is ${refund.status} and unknown to the bank`);
      continue;
    }
    if (payout.amount !== num(refund.amount)) result.mismatches.push(`refund ${refund.id}: ${refund.amount}, the bank paid out ${payout.amount}`);
    if (payout.status === "paid") result.payouts.paid++;
    if (payout.status === "rejected") result.payouts.rejected++;
    const agrees = (payout.status === "paid" && refund.status === "succeeded") || (payout.status === "rejected" && refund.status === "failed");
    if (!agrees) result.mismatches.push(`refund ${refund.id} (${refund.kind}): Corridor ${refund.status}, bank ${payout.status}`);
  }
  // A payment's refunded amount is what its merchant refunds succeeded for.
  const payments = await db().all<Record<string, unknown>>(
    `SELECT p.id, p.amount_refunded, COALESCE(SUM(CASE WHEN r.status IN ('succeeded', 'pending') AND r.kind = 'refund' THEN r.amount ELSE 0 END), 0) AS refunded
       FROM payments p LEFT JOIN refunds r ON r.payment_id = p.id GROUP BY p.id, p.amount_refunded`,
  );
  for (const payment of payments) if (num(payment.amount_refunded) !== num(payment.refunded)) result.mismatches.push(`${payment.id}: amount_refunded ${payment.amount_refunded}, refunds ${payment.refunded}`);
}

/** The ledger agrees: owed money per currency, the merchant's balance, and the whole ledger verifies. */
async function reconcileLedger(result: Reconciliation): Promise<void> {
  for (const [currency, totals] of Object.entries(result.transfers)) {
    if (totals.arrived !== totals.applied + totals.owed) result.mismatches.push(`${currency}: ${totals.arrived} arrived ≠ ${totals.applied} applied + ${totals.owed} owed`);
    if (totals.owed !== totals.paid_back + totals.still_owed) result.mismatches.push(`${currency}: ${totals.owed} owed ≠ ${totals.paid_back} paid back + ${totals.still_owed} still owed`);
    const due = await accountBalance(db(), accountId({ owner: merchant.id, currency, purpose: "customer_refunds_due" }));
    if (Number(due.credits_posted) !== totals.owed) result.mismatches.push(`${currency}: the ledger owed ${due.credits_posted}, the transfers ${totals.owed}`);
    if (Number(due.credits_posted - due.debits_posted) !== totals.still_owed) {
      result.mismatches.push(`${currency}: the ledger still owes ${due.credits_posted - due.debits_posted}, rejected returns ${totals.still_owed}`);
    }
  }
  // The merchant's pending balance per currency: what its payments kept.
  const kept = await db().all<{ currency: string; kept: unknown }>(
    `SELECT p.currency, SUM(p.amount_received) - COALESCE(SUM(CASE WHEN d.after_settlement = 1 THEN d.amount ELSE 0 END), 0) AS kept
       FROM payments p LEFT JOIN debit_returns d ON d.payment_id = p.id GROUP BY p.currency`,
  );
  const refunded = await db().all<{ currency: string; refunded: unknown }>("SELECT currency, SUM(amount) AS refunded FROM refunds WHERE status = 'succeeded' AND kind = 'refund' GROUP BY currency");
  const balance = (await api("GET", "/v1/balance")).body;
  for (const row of kept) {
    const expected = num(row.kept) - num(refunded.find((entry) => entry.currency === row.currency)?.refunded);
    const shown = balance.pending.find((entry: any) => entry.currency === row.currency.toLowerCase())?.amount ?? 0;
    if (shown !== expected) result.mismatches.push(`${row.currency}: the merchant's pending balance is ${shown}, its payments kept ${expected}`);
  }
  const verify = await call(stack.url, "GET", "/v1/admin/ledger/verify", { key: stack.admin_key });
  if (verify.status !== 200 || verify.body.balanced !== true) result.mismatches.push(`ledger: ${verify.text.slice(0, 300)}`);
}

before(async () => {
  stack = await startStack();
  if (backend === "postgres") second = await startStack({ database: stack.database, sandboxes: stack.sandboxes });
  merchant = await createMerchant(stack, "Bank chaos shop");
});

after(async () => {
  if (second) await second.close();
  if (stack) await stack.close();
});

test(`bank families under faults (${backend}, seed ${SEED})`, { timeout: 600_000 }, async () => {
  const transferPlans = fc.sample(bankTransferPlan, { seed: SEED, numRuns: PAYMENTS });
  const accountPlans = fc.sample(virtualAccountPlan, { seed: SEED + 1, numRuns: VIRTUAL_ACCOUNTS });
  const debitPlans = fc.sample(mandatePlan, { seed: SEED + 2, numRuns: MANDATES });
  const started = Date.now();
  await Promise.all([
    pool(transferPlans, CONCURRENCY, driveBankTransfer),
    pool(accountPlans, Math.max(1, Math.floor(CONCURRENCY / 2)), driveVirtualAccount),
    driveDebits(debitPlans),
  ]);
  const stillMoving = await atRest();
  const result: Reconciliation = {
    mismatches: [...driveProblems, ...api5xx.map((line) => `5xx: ${line}`), ...stillMoving.map((line) => `not at rest: ${line}`)],
    transfers: {}, debits: { settled: 0, returned_before: 0, returned_after: 0, re_presented: 0, failed_to_submit: 0, refunded_then_returned: 0 }, payouts: { paid: 0, rejected: 0 }, statuses: {},
  };
  await reconcileTransfers(result);
  await reconcileDebits(result);
  await reconcilePayouts(result);
  await reconcileLedger(result);
  const summary = {
    chaos: "bank", backend, servers: second ? 2 : 1, seed: SEED, seconds: Math.round((Date.now() - started) / 1000),
    counts: { ...counts, mandates_by_scheme: mandatesByScheme },
    faults, statuses: result.statuses, transfers: result.transfers, debits: result.debits, payouts: result.payouts,
    api_5xx: api5xx.length, mismatches: result.mismatches.length,
  };
  console.log(JSON.stringify(summary));
  for (const line of result.mismatches.slice(0, 40)) console.log(`mismatch: ${line}`);
  assert.equal(result.mismatches.length, 0, result.mismatches.slice(0, 20).join("\n"));
});
