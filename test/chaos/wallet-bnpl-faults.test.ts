// E-wallets and BNPL under customer randomness and channel faults. A seeded fast-check sample of
// CHAOS_PAYMENTS scenarios is driven concurrently through the API: wallet payments of the three
// flow shapes (redirect GCash PHP, QR ShopeePay IDR, app push OVO IDR with a phone) and BNPL
// payments (USD pay-in-4, BRL parcelado, MXN meses sin intereses), each with a customer who
// approves (by page, QR scan or sandbox control; notice sent, dropped, duplicated or delayed),
// declines, never answers (expiry), or pays after expiry (a late payment); merchants who cancel
// while the customer is deciding (or at the same moment), refund in full, in parts, in two racing
// parts, or refused by the channel, and retry creates (after the answer, or while it is in flight)
// and refunds with the same Idempotency-Key. Meanwhile the wallet loses create answers and the BNPL
// provider switches, on a seeded schedule, between failing cancels, losing refund answers,
// dropping refund notices and expiring checkouts itself. Then the faults are cleared, the janitor
// settles everything (bounded wait), and every payment and refund is reconciled against the
// sandboxes' own records (both ways), the money per channel and currency against the ledger and
// the merchants' balances, the succeeded events counted, the ledger verified, and Corridor's log
// checked for errors (a 500 answered to anyone, channels' notices included). One JSON summary
// line is printed; 0 mismatches are required.
//   CHAOS_PAYMENTS (150), CHAOS_CONCURRENCY (6), CHAOS_SEED (20240611)
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import fc from "fast-check";
import { seededRandom } from "../../src/random.ts";
import { backend, call, createMerchant, eventually, startStack, type Merchant, type Stack } from "../helpers.ts";

const PAYMENTS = Number(process.env.CHAOS_PAYMENTS ?? 150);
const CONCURRENCY = Number(process.env.CHAOS_CONCURRENCY ?? 6);
const SEED = Number(process.env.CHAOS_SEED ?? 20240611);
const SETTLE_TIMEOUT_MS = 60_000;
/** How long a driver waits for one payment to reach the state it acts on. */
const STATE_WAIT_MS = 30_000;
/** How often the BNPL provider's fault set is switched while payments are driven. */
const FAULT_SWITCH_MS = 500;
const FAULT_SWITCHES_MAX = 10_000;
const PAGE_MAX = 1_000;

// ---- scenarios ----

const flows = ["redirect", "qr", "app_push", "pay_in_4", "parcelado", "msi"] as const;
type Flow = (typeof flows)[number];
const customers = ["approve", "decline", "ignore", "late", "merchant_cancel", "race_cancel"] as const;
type Customer = (typeof customers)[number];
const refundPlans = ["none", "full", "partial", "two_partials", "refused_partial", "racing_partials"] as const;
type RefundPlan = (typeof refundPlans)[number];
const buyers = ["approved", "approved", "approved", "denied", "timeout", "refund_rejected", "slow"] as const;

interface Scenario {
  flow: Flow;
  customer: Customer;
  /** Wallet notice of the customer's approval. */
  notify: "send" | "drop" | "duplicate";
  notify_delay_ms: number;
  /** Approve on the channel's page (and come back through Corridor's return page) rather than by control. */
  via_page: boolean;
  buyer: (typeof buyers)[number];
  /** Wallet: the amount ends in 51 (the wallet refuses the payment); an OVO phone ending in 404. */
  insufficient_balance: boolean;
  no_wallet_account: boolean;
  lose_create_answer: boolean;
  idempotent_retry: boolean;
  /** The retry is sent while the first request is still being answered. */
  retry_at_once: boolean;
  expires_in_s: number;
  amount_draw: number;
  installments_draw: number;
  refunds: RefundPlan;
  refund_retry: boolean;
}

/** true with `share` % probability. */
const percent = (share: number) => fc.integer({ min: 0, max: 99 }).map((draw) => draw < share);

const scenarioArbitrary: fc.Arbitrary<Scenario> = fc.record({
  flow: fc.constantFrom(...flows),
  customer: fc.constantFrom<Customer>("approve", "approve", "approve", "decline", "ignore", "late", "late", "merchant_cancel", "race_cancel"),
  notify: fc.constantFrom<Scenario["notify"]>("send", "send", "drop", "duplicate"),
  notify_delay_ms: fc.constantFrom(0, 0, 50, 250),
  via_page: fc.boolean(),
  buyer: fc.constantFrom(...buyers),
  insufficient_balance: percent(8),
  no_wallet_account: percent(10),
  lose_create_answer: percent(10),
  idempotent_retry: percent(20),
  retry_at_once: fc.boolean(),
  expires_in_s: fc.integer({ min: 2, max: 4 }),
  amount_draw: fc.integer({ min: 0, max: 1_000_000 }),
  installments_draw: fc.integer({ min: 0, max: 1_000 }),
  refunds: fc.constantFrom<RefundPlan>("none", "none", "full", "partial", "two_partials", "refused_partial", "racing_partials"),
  refund_retry: fc.boolean(),
});

const family = (flow: Flow) => (flow === "redirect" || flow === "qr" || flow === "app_push" ? "wallet" : "bnpl");

/** Last two digits that trigger nothing at the sandboxes (51: refused payment, 66: refused refund). */
function harmless(cents: number): number {
  return cents === 51 || cents === 66 ? cents + 1 : cents;
}

function paymentBody(scenario: Scenario): Record<string, unknown> {
  const draw = scenario.amount_draw;
  const base = { confirm: true, return_url: "https://shop.example/back", metadata: { flow: scenario.flow, customer: scenario.customer, notify: scenario.notify, via_page: String(scenario.via_page) } };
  const walletCents = scenario.insufficient_balance ? 51 : harmless(draw % 100);
  switch (scenario.flow) {
    case "redirect":
      return { ...base, amount: (10 + (draw % 5_000)) * 100 + walletCents, currency: "php", payment_method_data: { type: "wallet", wallet: { provider: "gcash", expires_in: scenario.expires_in_s } } };
    case "qr":
      return { ...base, amount: (10_000 + draw) * 100 + walletCents, currency: "idr", payment_method_data: { type: "wallet", wallet: { provider: "shopeepay", expires_in: scenario.expires_in_s } } };
    case "app_push": {
      const suffix = draw % 1_000 === 404 ? 405 : draw % 1_000;
      const phone = scenario.no_wallet_account ? "+6281200000404" : `+6281234567${String(suffix).padStart(3, "0")}`;
      return { ...base, amount: (10_000 + draw) * 100 + walletCents, currency: "idr", payment_method_data: { type: "wallet", wallet: { provider: "ovo", phone, expires_in: scenario.expires_in_s } } };
    }
    case "pay_in_4":
      return { ...base, amount: 2_000 + (draw % 98_000), currency: "usd", payment_method_data: bnplData(scenario) };
    case "parcelado": {
      const count = 1 + (scenario.installments_draw % 12);
      return { ...base, amount: count * 500 + (draw % 50_000), currency: "brl", payment_method_data: bnplData(scenario, count) };
    }
    case "msi": {
      const count = [3, 6, 9, 12][scenario.installments_draw % 4]!;
      return { ...base, amount: count * 10_000 + (draw % 100_000), currency: "mxn", payment_method_data: bnplData(scenario, count) };
    }
  }
}

function bnplData(scenario: Scenario, installments?: number) {
  const email = `${scenario.buyer}+${scenario.amount_draw}@example.com`;
  return { type: "bnpl", bnpl: { provider: "sandbox", customer_email: email, expires_in: scenario.expires_in_s, ...(installments ? { installments } : {}) } };
}

// ---- the stack and the counters ----

let stack: Stack;
let walletShop: Merchant;
let bnplShop: Merchant;
/** Corridor's log: every 500 it answers (to merchants, channels' notices, return pages) is logged as an error there. */
const logDir = mkdtempSync(join(tmpdir(), "corridor-chaos-log-"));
const logFile = join(logDir, "corridor.log");
/** pino's level for errors. */
const errorLevel = 50;

before(async () => {
  stack = await startStack({ env: { LOG_FILE: logFile } });
  walletShop = await createMerchant(stack, "Chaos wallet shop");
  bnplShop = await createMerchant(stack, "Chaos BNPL shop");
});

after(async () => {
  if (!stack) return;
  await sandbox("wallet", "POST", "/_sandbox/faults", { lose_create_answers: 0 }).catch(() => undefined);
  await sandbox("bnpl", "POST", "/_sandbox/faults", {}).catch(() => undefined);
  await stack.close();
  rmSync(logDir, { recursive: true, force: true });
});

/** Errors Corridor logged (a 500 answered to anyone, a worker's failure), one line each. */
function loggedErrors(): string[] {
  if (!existsSync(logFile)) return [];
  return readFileSync(logFile, "utf8").split("\n").filter(Boolean).flatMap((line) => {
    try {
      const entry = JSON.parse(line);
      return entry.level >= errorLevel ? [`${entry.msg} ${entry.url ?? entry.req?.url ?? ""}: ${String(entry.err?.message ?? "").slice(0, 200)}`] : [];
    } catch {
      return [`unreadable log line: ${line.slice(0, 200)}`];
    }
  });
}

const counters = {
  customer: {} as Record<string, number>,
  idempotent_create_retries: 0,
  idempotent_retries_told_in_flight: 0,
  refund_requests: 0,
  idempotent_refund_retries: 0,
  late_payments_tried: 0,
  late_payments_refused_by_channel: 0,
  notices: { dropped: 0, duplicated: 0, delayed: 0 },
  wallet_create_answers_armed_to_lose: 0,
  bnpl_fault_windows: { fail_cancels: 0, lose_refund_answers: 0, drop_refund_notifications: 0, provider_expires_at_once: 0 },
};
const serverErrors: string[] = [];
const driveProblems: string[] = [];

const bump = (table: Record<string, number>, key: string) => void (table[key] = (table[key] ?? 0) + 1);

async function api(owner: Merchant, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) {
  const response = await call(stack.url, method, path, { key: owner.secret, body, headers });
  if (response.status >= 500) serverErrors.push(`${method} ${path} → ${response.status} ${response.text.slice(0, 300)}`);
  return response;
}

/** A call to a sandbox itself: the customer's side, its test controls, its records. */
async function sandbox(which: "wallet" | "bnpl", method: string, path: string, body?: unknown, absolute?: string) {
  const response = await fetch(absolute ?? `${stack.sandboxes[which].url}${path}`, {
    method, redirect: "manual", ...(body === undefined ? {} : { headers: { "content-type": "application/json" }, body: JSON.stringify(body) }),
  });
  const text = await response.text();
  let parsed: any;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // an HTML page or an empty redirect
  }
  return { status: response.status, location: response.headers.get("location"), body: parsed, text };
}

/** Follows a channel's 303 back to Corridor's return page (which asks the channel at once). */
async function returnThroughCorridor(location: string | null): Promise<void> {
  if (!location?.startsWith(stack.url)) return;
  const back = await fetch(location, { redirect: "manual" });
  await back.arrayBuffer();
  if (back.status >= 500) serverErrors.push(`GET ${location} → ${back.status}`);
}

const paymentOf = (response: { body: any }) => (response.body?.object === "payment" ? response.body : response.body?.error?.payment);

async function current(owner: Merchant, id: string): Promise<any> {
  return (await api(owner, "GET", `/v1/payments/${id}`)).body;
}

const terminal = new Set(["succeeded", "failed", "canceled"]);

async function waitForStatus(owner: Merchant, id: string, wanted: (payment: any) => boolean, what: string): Promise<any | undefined> {
  try {
    return await eventually(async () => {
      const payment = await current(owner, id);
      return wanted(payment) ? payment : undefined;
    }, STATE_WAIT_MS, what);
  } catch {
    driveProblems.push(`${id}: never ${what}`);
    return undefined;
  }
}

// ---- the customer ----

async function walletApproves(scenario: Scenario, payment: any, attempt: string, force: boolean): Promise<number> {
  const controls = { notify: scenario.notify, delay_ms: scenario.notify_delay_ms, ...(force ? { force: true } : {}) };
  if (scenario.notify === "drop") counters.notices.dropped++;
  if (scenario.notify === "duplicate") counters.notices.duplicated++;
  if (scenario.notify_delay_ms > 0) counters.notices.delayed++;
  const page: string | undefined = payment.next_action?.redirect_to_url?.url;
  if (!force && scenario.via_page && page) {
    const answer = await sandbox("wallet", "POST", "", undefined, `${page}/approve`);
    await returnThroughCorridor(answer.location);
    return answer.status;
  }
  const qr: string | undefined = payment.next_action?.display_qr_code?.data;
  if (qr && scenario.via_page) return (await sandbox("wallet", "POST", "/_sandbox/scan", { qr_code: qr, ...controls })).status;
  return (await sandbox("wallet", "POST", `/_sandbox/orders/${attempt}/approve`, controls)).status;
}

async function walletDeclines(scenario: Scenario, payment: any, attempt: string): Promise<void> {
  const page: string | undefined = payment.next_action?.redirect_to_url?.url;
  if (scenario.via_page && page) {
    const answer = await sandbox("wallet", "POST", "", undefined, `${page}/decline`);
    await returnThroughCorridor(answer.location);
    return;
  }
  await sandbox("wallet", "POST", `/_sandbox/orders/${attempt}/decline`, { notify: scenario.notify === "drop" ? "drop" : "send" });
}

async function bnplApproves(scenario: Scenario, payment: any, attempt: string): Promise<number> {
  const checkout: string | null = payment.payment_method_details?.bnpl?.checkout ?? null;
  if (scenario.via_page && checkout) {
    const answer = await sandbox("bnpl", "POST", `/checkout/${checkout}/confirm`);
    await returnThroughCorridor(answer.location);
    return answer.status;
  }
  if (scenario.notify === "drop") counters.notices.dropped++;
  return (await sandbox("bnpl", "POST", `/_sandbox/checkouts/${attempt}/approve`, { drop_notification: scenario.notify === "drop" })).status;
}

const approves = (scenario: Scenario, payment: any, attempt: string) =>
  family(scenario.flow) === "wallet" ? walletApproves(scenario, payment, attempt, false) : bnplApproves(scenario, payment, attempt);

/** Wallet: the customer refuses. BNPL: the provider denies, or the customer leaves its page (abandon). */
async function declines(scenario: Scenario, payment: any, attempt: string): Promise<void> {
  if (family(scenario.flow) === "wallet") return walletDeclines(scenario, payment, attempt);
  const checkout: string | null = payment.payment_method_details?.bnpl?.checkout ?? null;
  if (scenario.via_page && checkout) {
    const answer = await sandbox("bnpl", "POST", `/checkout/${checkout}/abandon`);
    await returnThroughCorridor(answer.location);
    return;
  }
  await sandbox("bnpl", "POST", `/_sandbox/checkouts/${attempt}/deny`, { drop_notification: scenario.notify === "drop" });
}

/** The customer pays after the payment was canceled for expiry: the channel may still take it. */
async function paysLate(scenario: Scenario, owner: Merchant, payment: any, attempt: string): Promise<void> {
  const canceled = await waitForStatus(owner, payment.id, (p) => terminal.has(p.status), "ended (expiry)");
  if (!canceled || canceled.status !== "canceled") return;
  counters.late_payments_tried++;
  const status = family(scenario.flow) === "wallet"
    ? await walletApproves(scenario, canceled, attempt, true)
    : (await sandbox("bnpl", "POST", `/_sandbox/checkouts/${attempt}/approve`, { drop_notification: scenario.notify === "drop" })).status;
  if (status !== 200) counters.late_payments_refused_by_channel++;
}

// ---- the merchant ----

async function refundAfterSuccess(scenario: Scenario, owner: Merchant, payment: any, key: string): Promise<void> {
  const refundOnce = async (body: Record<string, unknown>, suffix: string) => {
    const headers = { "idempotency-key": `${key}-refund-${suffix}` };
    counters.refund_requests++;
    const first = await api(owner, "POST", "/v1/refunds", body, headers);
    if (scenario.refund_retry) {
      counters.idempotent_refund_retries++;
      const again = await api(owner, "POST", "/v1/refunds", body, headers);
      // 400 answers leave no trace by design (nothing was written), so only those may differ.
      if (first.status !== 400 && (again.status !== first.status || again.text !== first.text)) {
        driveProblems.push(`${payment.id}: refund retry with ${headers["idempotency-key"]} answered ${again.status} ${again.text.slice(0, 200)}, first ${first.status} ${first.text.slice(0, 200)}`);
      }
    }
    return first;
  };
  const amount = payment.amount as number;
  const third = Math.max(1, Math.floor(amount / 3));
  const partial = third % 100 === 66 ? third + 1 : third;
  switch (scenario.refunds) {
    case "none":
      return;
    case "full":
      await refundOnce({ payment: payment.id }, "full");
      return;
    case "partial":
      await refundOnce({ payment: payment.id, amount: partial }, "partial");
      return;
    case "two_partials":
      await refundOnce({ payment: payment.id, amount: partial }, "first");
      await refundOnce({ payment: payment.id, amount: partial }, "second");
      return;
    case "racing_partials": {
      // Two refunds of 60 % each at the same moment: one is accepted, the other exceeds what is left.
      const sixty = Math.max(1, Math.floor((amount * 3) / 5));
      await Promise.all([refundOnce({ payment: payment.id, amount: sixty }, "race-a"), refundOnce({ payment: payment.id, amount: sixty + (sixty % 100 === 65 ? 2 : 1) }, "race-b")]);
      return;
    }
    case "refused_partial": {
      // Wallet: an amount ending in 66 is refused by the wallet; BNPL: refused for refund_rejected buyers only.
      const endingIn66 = Math.floor(partial / 100) * 100 + 66;
      await refundOnce({ payment: payment.id, amount: endingIn66 <= amount ? endingIn66 : partial }, "refused");
      await refundOnce({ payment: payment.id, amount: Math.max(1, Math.floor(partial / 2)) }, "after-refused");
      return;
    }
  }
}

async function drive(scenario: Scenario, index: number): Promise<void> {
  const owner = family(scenario.flow) === "wallet" ? walletShop : bnplShop;
  const key = `wallet-bnpl-${SEED}-${index}`;
  bump(counters.customer, scenario.customer);
  if (scenario.lose_create_answer && family(scenario.flow) === "wallet") {
    counters.wallet_create_answers_armed_to_lose++;
    await sandbox("wallet", "POST", "/_sandbox/faults", { lose_create_answers: 1 });
  }
  const body = paymentBody(scenario);
  const headers = { "idempotency-key": key };
  const racingRetry = scenario.idempotent_retry && scenario.retry_at_once;
  const [one, other] = await Promise.all([
    api(owner, "POST", "/v1/payments", body, headers),
    racingRetry ? api(owner, "POST", "/v1/payments", body, headers) : undefined,
  ]);
  // Of two racing requests, the one that was processed is the create; the other is its retry.
  const [created, raced] = other && one.status === 409 ? [other, one] : [one, other];
  let payment = paymentOf(created);
  if (!payment) {
    driveProblems.push(`create ${key} answered ${created.status} ${created.text.slice(0, 300)}`);
    return;
  }
  if (scenario.idempotent_retry) {
    counters.idempotent_create_retries++;
    // A retry while the first is in flight may be told so (409 idempotency_key_in_use); otherwise it replays the answer.
    const again = raced ?? (await api(owner, "POST", "/v1/payments", body, headers));
    const inFlight = again.status === 409 && again.body?.error?.code === "idempotency_key_in_use";
    if (inFlight) counters.idempotent_retries_told_in_flight++;
    else if (again.status !== created.status || again.text !== created.text) driveProblems.push(`${payment.id}: create retry answered ${again.status} ${again.text.slice(0, 200)}, first ${created.status}`);
  }
  if (terminal.has(payment.status)) return;
  const attempt: string = payment.attempts[0].id;
  switch (scenario.customer) {
    case "approve":
      await approves(scenario, payment, attempt);
      break;
    case "decline":
      await declines(scenario, payment, attempt);
      break;
    case "ignore":
      break;
    case "late":
      await paysLate(scenario, owner, payment, attempt);
      break;
    case "merchant_cancel":
      await api(owner, "POST", `/v1/payments/${payment.id}/cancel`, {});
      await approves(scenario, payment, attempt); // too late for the customer: the channel refuses
      break;
    case "race_cancel":
      await Promise.all([api(owner, "POST", `/v1/payments/${payment.id}/cancel`, {}), approves(scenario, payment, attempt)]);
      break;
  }
  if (scenario.refunds === "none") return;
  payment = await waitForStatus(owner, payment.id, (p) => terminal.has(p.status), "ended");
  if (payment?.status === "succeeded") await refundAfterSuccess(scenario, owner, payment, key);
}

/** Switches the BNPL provider's faults on a seeded schedule until `done()`. */
async function switchBnplFaults(done: () => boolean): Promise<void> {
  const draw = seededRandom(SEED ^ 0x5eed);
  for (let round = 0; round < FAULT_SWITCHES_MAX && !done(); round++) {
    const faults = {
      fail_cancels: draw() < 0.35, lose_refund_answers: draw() < 0.3, drop_refund_notifications: draw() < 0.3,
      ...(draw() < 0.3 ? { expiry_grace_ms: 0 } : {}),
    };
    if (faults.fail_cancels) counters.bnpl_fault_windows.fail_cancels++;
    if (faults.lose_refund_answers) counters.bnpl_fault_windows.lose_refund_answers++;
    if (faults.drop_refund_notifications) counters.bnpl_fault_windows.drop_refund_notifications++;
    if ("expiry_grace_ms" in faults) counters.bnpl_fault_windows.provider_expires_at_once++;
    await sandbox("bnpl", "POST", "/_sandbox/faults", faults);
    await new Promise((resolve) => setTimeout(resolve, FAULT_SWITCH_MS));
  }
}

// ---- reading back ----

async function listAll(owner: Merchant, path: string): Promise<any[]> {
  const all: any[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < PAGE_MAX; page++) {
    const response = await api(owner, "GET", `${path}?limit=100${cursor ? `&starting_after=${cursor}` : ""}`);
    assert.equal(response.status, 200, response.text);
    all.push(...response.body.data);
    if (!response.body.has_more) return all;
    cursor = response.body.data.at(-1).id;
  }
  throw new Error(`more than ${PAGE_MAX} pages of ${path}`);
}

interface Snapshot {
  payments: any[];
  refunds: any[];
  orders: Map<string, any>;
  walletRefunds: Map<string, any>;
  checkouts: Map<string, any>;
  bnplRefunds: Map<string, any>;
}

async function snapshot(): Promise<Snapshot> {
  const payments = [...(await listAll(walletShop, "/v1/payments")), ...(await listAll(bnplShop, "/v1/payments"))];
  const refunds = [...(await listAll(walletShop, "/v1/refunds")), ...(await listAll(bnplShop, "/v1/refunds"))];
  const orders = (await sandbox("wallet", "GET", "/v1/orders")).body.orders as any[];
  const walletRefunds = (await sandbox("wallet", "GET", "/v1/refunds")).body.refunds as any[];
  const checkouts = (await sandbox("bnpl", "GET", "/checkouts")).body.checkouts as any[];
  const bnplRefunds = (await sandbox("bnpl", "GET", "/refunds")).body.refunds as any[];
  return {
    payments, refunds,
    orders: new Map(orders.map((order) => [order.merchant_order_ref, order])),
    walletRefunds: new Map(walletRefunds.map((refund) => [refund.refund_request_ref, refund])),
    checkouts: new Map(checkouts.map((checkout) => [checkout.merchant_reference, checkout])),
    bnplRefunds: new Map(bnplRefunds.map((refund) => [refund.merchant_refund_reference, refund])),
  };
}

const openAttempts = new Set(["pending", "requires_action", "reversing", "unknown"]);

function stillOpen(state: Snapshot): string[] {
  const open = state.payments
    .filter((payment) => payment.status === "processing" || payment.status === "requires_action" || payment.attempts.some((attempt: any) => openAttempts.has(attempt.status)))
    .map((payment) => `${payment.id} ${payment.status} (${payment.attempts.map((attempt: any) => attempt.status).join(",")})`);
  open.push(...state.refunds.filter((refund) => refund.status === "pending").map((refund) => `refund ${refund.id} pending`));
  open.push(...[...state.walletRefunds.values()].filter((refund) => refund.status === "REFUND_PROCESSING").map((refund) => `wallet refund ${refund.refund_request_ref} processing`));
  return open;
}

/** Money a channel took that Corridor has not learned of yet (its janitor watches closed attempts for it). */
function channelAhead(state: Snapshot): string[] {
  const ahead: string[] = [];
  for (const payment of state.payments) {
    const attempt = payment.attempts[0];
    if (!attempt || (attempt.status !== "expired" && attempt.status !== "voided")) continue;
    if (state.orders.get(attempt.id)?.status === "PAID") ahead.push(`${payment.id}: PAID at the wallet, attempt ${attempt.status}`);
    if (state.checkouts.get(attempt.id)?.state === "APPROVED") ahead.push(`${payment.id}: APPROVED at the provider, attempt ${attempt.status}`);
  }
  return ahead;
}

/** "50000.00" → 5000000n (the sandboxes answer in the currency's exponent). */
const minorOf = (value: string): bigint => BigInt(value.replace(".", ""));

// ---- reconciliation ----

interface LedgerView {
  /** Per channel:currency, posted debits − credits of the channel receivable. */
  receivable: Map<string, bigint>;
  /** Transfers per ref and code. */
  byRef: Map<string, Map<string, number>>;
  /** Per currency, BNPL fees booked. */
  fees: Map<string, bigint>;
  pendingOpen: number;
}

async function ledgerView(): Promise<LedgerView> {
  const db = stack.corridor.ctx.db;
  const accounts = await db.all<{ id: string; owner: string; currency: string; purpose: string }>("SELECT id, owner, currency, purpose FROM ledger_accounts");
  const transfers = await db.all<{ id: string; debit_account_id: string; credit_account_id: string; amount: unknown; currency: string; kind: string; pending_id: string | null; code: string; ref: string }>(
    "SELECT id, debit_account_id, credit_account_id, amount, currency, kind, pending_id, code, ref FROM ledger_transfers",
  );
  const accountById = new Map(accounts.map((account) => [account.id, account]));
  const receivable = new Map<string, bigint>();
  const byRef = new Map<string, Map<string, number>>();
  const fees = new Map<string, bigint>();
  const resolved = new Set(transfers.filter((transfer) => transfer.pending_id).map((transfer) => transfer.pending_id!));
  let pendingOpen = 0;
  for (const transfer of transfers) {
    const amount = BigInt(String(transfer.amount));
    const codes = byRef.get(transfer.ref) ?? new Map<string, number>();
    codes.set(transfer.code, (codes.get(transfer.code) ?? 0) + 1);
    byRef.set(transfer.ref, codes);
    if (transfer.kind === "pending" && !resolved.has(transfer.id)) pendingOpen++;
    if (transfer.code === "bnpl_fee") fees.set(transfer.currency, (fees.get(transfer.currency) ?? 0n) + amount);
    if (transfer.kind !== "posted" && transfer.kind !== "post_pending") continue;
    const debit = accountById.get(transfer.debit_account_id)!;
    const credit = accountById.get(transfer.credit_account_id)!;
    if (debit.purpose === "channel_receivable") receivable.set(`${debit.owner}:${debit.currency}`, (receivable.get(`${debit.owner}:${debit.currency}`) ?? 0n) + amount);
    if (credit.purpose === "channel_receivable") receivable.set(`${credit.owner}:${credit.currency}`, (receivable.get(`${credit.owner}:${credit.currency}`) ?? 0n) - amount);
  }
  return { receivable, byRef, fees, pendingOpen };
}

const count = (ledger: LedgerView, ref: string, code: string) => ledger.byRef.get(ref)?.get(code) ?? 0;

/** One wallet payment against the wallet's order and refunds. */
function reconcileWallet(payment: any, refunds: any[], state: Snapshot, ledger: LedgerView, say: (what: string) => void): void {
  const [attempt, ...others] = payment.attempts;
  if (others.length > 0) say(`${payment.attempts.length} attempts`);
  if (!attempt) return;
  const order = state.orders.get(attempt.id);
  const paid = order?.status === "PAID";
  if (order && minorOf(order.order_amount.value) !== BigInt(payment.amount)) say(`order for ${order.order_amount.value}, payment ${payment.amount}`);
  const captures = count(ledger, attempt.id, "capture");
  switch (payment.status) {
    case "succeeded":
      if (!paid) say(`succeeded here, ${order?.status ?? "no order"} at the wallet`);
      if (attempt.status !== "captured") say(`succeeded with attempt ${attempt.status}`);
      if (captures !== 1) say(`${captures} capture transfers`);
      break;
    case "canceled": {
      if (!paid) {
        if (captures !== 0) say(`canceled unpaid but ${captures} capture transfers`);
        break;
      }
      // Paid after we gave up: booked, owed back, and refunded to the wallet in full.
      const reversal = state.walletRefunds.get(`${attempt.id}_rev`);
      if (attempt.status !== "reversed") say(`late payment, attempt ${attempt.status}`);
      if (reversal?.status !== "REFUND_SUCCESS" || minorOf(reversal.refund_amount.value) !== BigInt(payment.amount)) say(`late payment not reversed at the wallet (${reversal?.status ?? "no refund"})`);
      if (captures !== 1 || count(ledger, attempt.id, "refund_due") !== 1 || count(ledger, `${attempt.id}_rev`, "return_of_funds") !== 1) say("late payment not booked capture → refund_due → return_of_funds once each");
      if (payment.amount_received !== 0) say(`late payment shows ${payment.amount_received} received`);
      break;
    }
    case "failed":
      if (paid) say("failed here, PAID at the wallet");
      if (captures !== 0) say(`failed but ${captures} capture transfers`);
      break;
    default:
      say("still open");
  }
  reconcileRefunds(payment, refunds, state.walletRefunds, (refund) => refund.status === "REFUND_SUCCESS", (refund) => refund.status === "REFUND_FAILED", (refund) => minorOf(refund.refund_amount.value), say);
}

/** One BNPL payment against the provider's checkout and refunds. */
function reconcileBnpl(payment: any, refunds: any[], state: Snapshot, ledger: LedgerView, say: (what: string) => void): void {
  const [attempt, ...others] = payment.attempts;
  if (others.length > 0) say(`${payment.attempts.length} attempts`);
  if (!attempt) return;
  const checkout = state.checkouts.get(attempt.id);
  const approved = checkout?.state === "APPROVED";
  if (checkout && minorOf(checkout.amount.value) !== BigInt(payment.amount)) say(`checkout for ${checkout.amount.value}, payment ${payment.amount}`);
  const captures = count(ledger, attempt.id, "capture");
  const fees = count(ledger, attempt.id, "bnpl_fee");
  if (checkout?.state === "AWAITING_CUSTOMER") say("checkout still open at the provider");
  switch (payment.status) {
    case "succeeded":
      if (!approved) say(`succeeded here, ${checkout?.state ?? "no checkout"} at the provider`);
      if (attempt.status !== "captured") say(`succeeded with attempt ${attempt.status}`);
      if (captures !== 1 || fees !== 1) say(`${captures} capture and ${fees} fee transfers`);
      break;
    case "canceled":
    case "failed":
      if (approved) say(`${payment.status} here, APPROVED at the provider (a dangling approval)`);
      if (checkout?.state === "VOIDED" && attempt.status !== "reversed") say(`voided at the provider, attempt ${attempt.status}`);
      if (captures !== 0 || fees !== 0) say(`${payment.status} but ${captures} capture and ${fees} fee transfers`);
      if (payment.status === "failed" && checkout && checkout.state !== "DECLINED") say(`failed here, ${checkout.state} at the provider`);
      break;
    default:
      say("still open");
  }
  reconcileRefunds(payment, refunds, state.bnplRefunds, (refund) => refund.state === "COMPLETED", (refund) => refund.state === "REJECTED", (refund) => minorOf(refund.amount.value), say);
}

function reconcileRefunds(
  payment: any, refunds: any[], atChannel: Map<string, any>, succeededThere: (refund: any) => boolean, failedThere: (refund: any) => boolean,
  amountThere: (refund: any) => bigint, say: (what: string) => void,
): void {
  let refunded = 0;
  for (const refund of refunds) {
    const there = atChannel.get(refund.id);
    if (refund.status === "succeeded") {
      refunded += refund.amount;
      if (!there || !succeededThere(there) || amountThere(there) !== BigInt(refund.amount)) say(`refund ${refund.id} succeeded here, ${there ? JSON.stringify(there).slice(0, 120) : "absent"} at the channel`);
    } else if (refund.status === "failed") {
      if (there && !failedThere(there)) say(`refund ${refund.id} failed here, not at the channel`);
    } else {
      say(`refund ${refund.id} still ${refund.status}`);
    }
  }
  if (refunded !== payment.amount_refunded) say(`refunds total ${refunded}, payment says ${payment.amount_refunded}`);
}

// ---- whole-run checks ----

interface PaymentStats {
  by_family_flow: Record<string, Record<string, number>>;
  statuses: Record<string, Record<string, number>>;
  /** Attempts the channel approved after Corridor let go of them (expiry, cancel), undone there. */
  late: { wallet_late_payments_refunded: number; bnpl_unwanted_approvals_voided: number };
  /** What Corridor's payments say each channel holds net, per channel:currency (BNPL before fees). */
  net: Map<string, bigint>;
  /** BNPL fees the succeeded payments' plans state, per currency. */
  fees: Map<string, bigint>;
}

/** Every payment against its channel's records; counts what happened. */
function reconcilePayments(state: Snapshot, ledger: LedgerView, mismatches: string[]): PaymentStats {
  const stats: PaymentStats = { by_family_flow: { wallet: {}, bnpl: {} }, statuses: { wallet: {}, bnpl: {} }, late: { wallet_late_payments_refunded: 0, bnpl_unwanted_approvals_voided: 0 }, net: new Map(), fees: new Map() };
  const refundsByPayment = new Map<string, any[]>();
  for (const refund of state.refunds) refundsByPayment.set(refund.payment, [...(refundsByPayment.get(refund.payment) ?? []), refund]);
  for (const payment of state.payments) {
    const type: string = payment.payment_method_details?.type;
    const say = (what: string) => mismatches.push(`${type} ${payment.id} (${payment.status}; ${JSON.stringify(payment.metadata)}): ${what}`);
    const flow = type === "wallet" ? payment.payment_method_details.wallet.flow : payment.payment_method_details?.bnpl?.plan?.type;
    bump(stats.by_family_flow[type] ?? (stats.by_family_flow[type] = {}), flow);
    const detail = payment.status === "canceled" ? `_${payment.cancellation_reason}` : payment.status === "failed" ? `_${payment.last_error?.decline_code ?? payment.last_error?.code}` : "";
    bump(stats.statuses[type] ?? (stats.statuses[type] = {}), `${payment.status}${detail}`);
    const refunds = refundsByPayment.get(payment.id) ?? [];
    if (type === "wallet") reconcileWallet(payment, refunds, state, ledger, say);
    else if (type === "bnpl") reconcileBnpl(payment, refunds, state, ledger, say);
    else say("not a wallet or BNPL payment");
    if (payment.attempts[0]?.status === "reversed") type === "wallet" ? stats.late.wallet_late_payments_refunded++ : stats.late.bnpl_unwanted_approvals_voided++;
    if (payment.status !== "succeeded") continue;
    const currency = payment.currency.toUpperCase();
    const key = `${type === "wallet" ? "sandboxwallet" : "sandboxbnpl"}:${currency}`;
    stats.net.set(key, (stats.net.get(key) ?? 0n) + BigInt(payment.amount_received - payment.amount_refunded));
    if (type === "bnpl") stats.fees.set(currency, (stats.fees.get(currency) ?? 0n) + BigInt(payment.payment_method_details.bnpl.plan.fee));
  }
  return stats;
}

/** Nothing at the channels that Corridor does not know, and no refund done there but not here. */
function reconcileChannelsAgainstUs(state: Snapshot, mismatches: string[]): void {
  const ours = new Set(state.payments.flatMap((payment) => payment.attempts.map((attempt: any) => attempt.id as string)));
  for (const reference of state.orders.keys()) if (!ours.has(reference)) mismatches.push(`wallet order ${reference} unknown to Corridor`);
  for (const reference of state.checkouts.keys()) if (!ours.has(reference)) mismatches.push(`BNPL checkout ${reference} unknown to Corridor`);
  const ourRefunds = new Map(state.refunds.map((refund) => [refund.id as string, refund]));
  for (const [reference, refund] of state.walletRefunds) {
    const reversalOf = reference.endsWith("_rev") ? reference.slice(0, -"_rev".length) : undefined;
    if (reversalOf ? !ours.has(reversalOf) : !ourRefunds.has(reference)) mismatches.push(`wallet refund ${reference} unknown to Corridor`);
    else if (!reversalOf && refund.status === "REFUND_SUCCESS" && ourRefunds.get(reference).status !== "succeeded") mismatches.push(`wallet refund ${reference} succeeded at the wallet, ${ourRefunds.get(reference).status} here`);
  }
  for (const [reference, refund] of state.bnplRefunds) {
    if (!ourRefunds.has(reference)) mismatches.push(`BNPL refund ${reference} unknown to Corridor`);
    else if (refund.state === "COMPLETED" && ourRefunds.get(reference).status !== "succeeded") mismatches.push(`BNPL refund ${reference} completed at the provider, ${ourRefunds.get(reference).status} here`);
  }
}

/** Per channel and currency: what the channel holds net of refunds (its records) = the ledger's receivable (+ fees kept) = the payments. */
function reconcileMoney(state: Snapshot, ledger: LedgerView, stats: PaymentStats, mismatches: string[]): Record<string, { channel: string; ledger: string; corridor_payments: string }> {
  const held = new Map<string, bigint>();
  const add = (key: string, amount: bigint) => held.set(key, (held.get(key) ?? 0n) + amount);
  for (const order of state.orders.values()) if (order.status === "PAID") add(`sandboxwallet:${order.order_amount.currency}`, minorOf(order.order_amount.value));
  for (const refund of state.walletRefunds.values()) if (refund.status === "REFUND_SUCCESS") add(`sandboxwallet:${refund.refund_amount.currency}`, -minorOf(refund.refund_amount.value));
  for (const checkout of state.checkouts.values()) if (checkout.state === "APPROVED") add(`sandboxbnpl:${checkout.amount.currency}`, minorOf(checkout.amount.value) - minorOf(checkout.refunded.value));
  const money: Record<string, { channel: string; ledger: string; corridor_payments: string }> = {};
  for (const key of new Set([...held.keys(), ...ledger.receivable.keys(), ...stats.net.keys()])) {
    const [channel, currency] = key.split(":") as [string, string];
    if (channel !== "sandboxwallet" && channel !== "sandboxbnpl") continue;
    const fees = channel === "sandboxbnpl" ? (ledger.fees.get(currency) ?? 0n) : 0n;
    const booked = (ledger.receivable.get(key) ?? 0n) + fees;
    const atChannel = held.get(key) ?? 0n;
    const paymentsSay = stats.net.get(key) ?? 0n;
    money[key] = { channel: String(atChannel), ledger: String(booked), corridor_payments: String(paymentsSay) };
    if (atChannel !== booked) mismatches.push(`${key}: the channel holds ${atChannel} net, the ledger booked ${booked}`);
    if (atChannel !== paymentsSay) mismatches.push(`${key}: the channel holds ${atChannel} net, Corridor's payments say ${paymentsSay}`);
    if (channel === "sandboxbnpl" && fees !== (stats.fees.get(currency) ?? 0n)) mismatches.push(`${key}: fees booked ${fees}, plans say ${stats.fees.get(currency) ?? 0n}`);
  }
  if (ledger.pendingOpen > 0) mismatches.push(`${ledger.pendingOpen} ledger reservations still pending`);
  return money;
}

/** The merchants' pending balances (GET /v1/balance) agree with their payments. */
async function reconcileBalances(state: Snapshot, mismatches: string[]): Promise<void> {
  for (const owner of [walletShop, bnplShop]) {
    const balance = (await api(owner, "GET", "/v1/balance")).body;
    const expected = new Map<string, bigint>();
    for (const payment of state.payments) {
      if (payment.status !== "succeeded" || (owner === walletShop) !== (payment.payment_method_details.type === "wallet")) continue;
      const fee = payment.payment_method_details.type === "bnpl" ? BigInt(payment.payment_method_details.bnpl.plan.fee) : 0n;
      expected.set(payment.currency, (expected.get(payment.currency) ?? 0n) + BigInt(payment.amount_received - payment.amount_refunded) - fee);
    }
    for (const currency of new Set([...expected.keys(), ...balance.pending.map((entry: any) => entry.currency as string)])) {
      const shown = BigInt(balance.pending.find((entry: any) => entry.currency === currency)?.amount ?? 0);
      if (shown !== (expected.get(currency) ?? 0n)) mismatches.push(`${owner.id} pending ${currency}: balance ${shown}, payments ${expected.get(currency) ?? 0n}`);
    }
  }
}

/** Exactly one payment.succeeded per succeeded payment, none for the others. */
async function reconcileEvents(state: Snapshot, mismatches: string[]): Promise<void> {
  const rows = await stack.corridor.ctx.db.all<{ object_id: string; events: unknown }>(
    "SELECT object_id, COUNT(*) AS events FROM events WHERE type = 'payment.succeeded' GROUP BY object_id",
  );
  const eventsOf = new Map(rows.map((row) => [row.object_id, Number(row.events)]));
  for (const payment of state.payments) {
    const wanted = payment.status === "succeeded" ? 1 : 0;
    if ((eventsOf.get(payment.id) ?? 0) !== wanted) mismatches.push(`${payment.id} (${payment.status}): ${eventsOf.get(payment.id) ?? 0} payment.succeeded events`);
  }
}

/** Runs every scenario, `CONCURRENCY` at a time, while the BNPL provider's faults switch. */
async function driveAll(scenarios: Scenario[]): Promise<void> {
  let driving = true;
  const faultSwitcher = switchBnplFaults(() => !driving);
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(1, CONCURRENCY) }, async () => {
    while (next < scenarios.length) {
      const index = next++;
      await drive(scenarios[index]!, index);
    }
  }));
  driving = false;
  await faultSwitcher;
}

/**
 * Waits (bounded) until nothing is open here and nothing the channels took is still unknown to
 * Corridor; a payment still open fails the run, money still unknown is left to the reconciliation.
 */
async function settle(): Promise<Snapshot> {
  let state = await snapshot();
  let open: string[] = [];
  let ahead: string[] = [];
  await eventually(async () => {
    state = await snapshot();
    open = stillOpen(state);
    ahead = channelAhead(state);
    return open.length === 0 && ahead.length === 0;
  }, SETTLE_TIMEOUT_MS, "every payment, attempt and refund to settle").catch((error: Error) => {
    if (open.length > 0) throw new Error(`${error.message}: ${open.slice(0, 10).join("; ")}`);
  });
  return state;
}

// ---- the run ----

test(`${PAYMENTS} wallet and BNPL payments under customer randomness and channel faults reconcile (${backend})`, { timeout: 180_000 + PAYMENTS * 1_500 }, async () => {
  const started = Date.now();
  await driveAll(fc.sample(scenarioArbitrary, { seed: SEED, numRuns: PAYMENTS }));
  const drive_ms = Date.now() - started;
  const walletFaults = (await sandbox("wallet", "POST", "/_sandbox/faults", { lose_create_answers: 0 })).body;
  const bnplFaults = (await sandbox("bnpl", "POST", "/_sandbox/faults", {})).body;
  const state = await settle();
  const settle_ms = Date.now() - started - drive_ms;

  const ledger = await ledgerView();
  const mismatches: string[] = [...driveProblems, ...serverErrors.map((error) => `5xx: ${error}`)];
  const stats = reconcilePayments(state, ledger, mismatches);
  reconcileChannelsAgainstUs(state, mismatches);
  const money = reconcileMoney(state, ledger, stats, mismatches);
  await reconcileBalances(state, mismatches);
  await reconcileEvents(state, mismatches);
  const serverErrorsLogged = loggedErrors();
  mismatches.push(...serverErrorsLogged.map((error) => `Corridor logged an error: ${error}`));
  const verify = await call(stack.url, "GET", "/v1/admin/ledger/verify", { key: stack.admin_key });
  if (verify.status !== 200 || verify.body.balanced !== true) mismatches.push(`ledger verify: ${verify.text.slice(0, 300)}`);

  const refundStatuses: Record<string, number> = {};
  for (const refund of state.refunds) bump(refundStatuses, refund.status);
  console.log(JSON.stringify({
    chaos: "wallet-bnpl", backend, seed: SEED, payments: state.payments.length, driven: PAYMENTS, concurrency: CONCURRENCY, drive_ms, settle_ms,
    by_family_flow: stats.by_family_flow, customer: counters.customer,
    faults_injected: {
      wallet_lost_create_answers: walletFaults?.lost_create_answers_total, wallet_create_answers_armed: counters.wallet_create_answers_armed_to_lose,
      bnpl: bnplFaults?.injected, bnpl_fault_windows: counters.bnpl_fault_windows, notices: counters.notices,
    },
    statuses: stats.statuses, late: { tried: counters.late_payments_tried, refused_by_channel: counters.late_payments_refused_by_channel, ...stats.late },
    refunds: { requested: counters.refund_requests, idempotent_retries: counters.idempotent_refund_retries, ...refundStatuses },
    idempotent_create_retries: counters.idempotent_create_retries, retries_told_in_flight: counters.idempotent_retries_told_in_flight,
    money, api_5xx: serverErrors.length, server_errors_logged: serverErrorsLogged.length, mismatches: mismatches.length,
  }));

  assert.deepEqual(mismatches, [], "Corridor's records agree with the channels' and the ledger");
  assert.equal(state.payments.length, PAYMENTS, "every scenario made exactly one payment");
  assert.ok((walletFaults?.lost_create_answers_total ?? 0) > 0 || PAYMENTS < 50, "some wallet create answers were lost");
  assert.ok(stats.late.wallet_late_payments_refunded > 0 || PAYMENTS < 50, "some wallet payments were paid late and refunded");
});
