// The sandbox card channels' settlement desks end to end: payments through each channel's own HTTP
// API (its connector), a close, the report fetched through Corridor's SettlementSource and parsed
// by Corridor's parser, checked against the channel's records; the seeded faults; the payouts to a
// stand-in bank; the automatic close at the day change; the fee schedules against Corridor's model.
import { strict as assert } from "node:assert";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import type { AuthorizeRequest, Connector } from "../../channels/contract.ts";
import { createGlobalPayConnector } from "../../channels/globalpay/connector.ts";
import { createGlobalPaySettlementSource, parseGlobalPayReport } from "../../channels/globalpay/settlement.ts";
import { createLocalAcqConnector } from "../../channels/localacq/connector.ts";
import { createLocalAcqSettlementSource, parseLocalAcqClearingFile } from "../../channels/localacq/settlement.ts";
import { createHttpTransport } from "../../channels/transport.ts";
import { convertMinor, defaultFeeModel, defaultFx, estimateFee } from "../../routing/fees.ts";
import type { ReportLine, SettlementSource } from "../../settlement/report.ts";
import { GlobalPayChargebacks } from "../globalpay/chargebacks.ts";
import { GlobalPayChannel } from "../globalpay/channel.ts";
import { createGlobalPayDesk } from "../globalpay/settlement.ts";
import { startSandboxChannel, type RunningSandboxChannel } from "../index.ts";
import { brandOfPan } from "./brands.ts";
import type { CloseOutcome } from "./desk.ts";
import {
  GLOBALPAY_FIXED_FEE_MINOR, LOCALACQ_FIXED_FEE_MINOR, LOCALACQ_LOCAL_SCHEME_FIXED_FEE_MINOR, globalPayCaptureFees, localAcqCaptureFees, totalFees,
} from "./fees.ts";

const TIMEOUT_MS = 3_000;
const year = new Date().getUTCFullYear() + 2;
const ELO = "6362970000457013";
const AMEX = "378282246310005";
const VISA = "4242424242424242";

/** A stand-in for the sandbox bank's settlement-credit endpoint: records what it is paid. */
class Bank {
  readonly credits: Record<string, unknown>[] = [];
  /** HTTP statuses to answer before answering 201. */
  failures: number[] = [];
  private server: Server | undefined;
  url = "";

  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const status = this.failures.shift();
        if (status !== undefined) return void response.writeHead(status).end("{}");
        assert.equal(request.url, "/_sandbox/settlement_credits");
        this.credits.push(JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>);
        response.writeHead(201, { "content-type": "application/json" }).end("{}");
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, "127.0.0.1", resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  async stop(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

let sequence = 0;
const reference = (prefix: string) => `${prefix}_${process.pid}_${++sequence}`;

function authorization(number: string, amount: number, currency: string, capture: boolean): AuthorizeRequest {
  return {
    reference: reference("att"), amount, currency, capture, return_url: "https://shop.example/return",
    card: { number, exp_month: 12, exp_year: year, cvc: "123", brand: brandOfPan(number) },
  };
}

async function approved(connector: Connector, request: AuthorizeRequest): Promise<string> {
  const outcome = await connector.authorize(request);
  assert.equal(outcome.kind, "approved", JSON.stringify(outcome));
  return outcome.kind === "approved" ? outcome.channel_reference : "";
}

async function close(channel: RunningSandboxChannel, faults?: Record<string, unknown>): Promise<CloseOutcome> {
  const response = await fetch(`${channel.url}/_sandbox/settlement/close`, { method: "POST", body: JSON.stringify(faults ? { faults } : {}) });
  const text = await response.text();
  assert.equal(response.status, 200, text);
  return JSON.parse(text) as CloseOutcome;
}

async function fetched(source: SettlementSource, id: string): Promise<string> {
  const file = await source.fetchFile(id);
  assert.ok("content" in file, JSON.stringify(file));
  return "content" in file ? file.content : "";
}

function parsedLines(parsed: ReturnType<typeof parseGlobalPayReport>): ReportLine[] {
  assert.ok(parsed.ok, JSON.stringify(parsed));
  return parsed.ok ? parsed.lines : [];
}

/** Comparable summaries: the close response's lines and the parsed report's (payouts aside). */
const summary = (line: { type: string; merchant_reference: string | null; channel_reference: string | null; currency: string; gross: number; net: number }) =>
  `${line.type} ${line.merchant_reference} ${line.channel_reference} ${line.currency} ${line.gross} ${line.net}`;

describe("sandbox settlement: fee schedules agree with Corridor's default fee model", () => {
  test("the fixed-fee tables are the model's US-cent fees converted with its FX table", () => {
    for (const [table, cents] of [[GLOBALPAY_FIXED_FEE_MINOR, 30n], [LOCALACQ_FIXED_FEE_MINOR, 10n], [LOCALACQ_LOCAL_SCHEME_FIXED_FEE_MINOR, 5n]] as const) {
      for (const [currency, minor] of Object.entries(table)) assert.equal(BigInt(minor), convertMinor(defaultFx, cents, "USD", currency), `${currency} ${cents}`);
    }
  });

  test("globalpay's fees are the model's cost at domestic pricing, split IC++ (fast-check)", () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e12 }), fc.constantFrom("USD", "EUR", "GBP"), fc.constantFrom("visa", "mastercard", "amex"), (amount, currency, brand) => {
      const fees = globalPayCaptureFees(BigInt(amount), currency, brand);
      const model = estimateFee(defaultFeeModel, "globalpay", { method: "card", brand, card_country: "US", amount, currency });
      assert.equal(totalFees(fees), BigInt(model!.cost_minor));
      assert.ok(fees.interchange >= 0n && fees.scheme_fees >= 0n && fees.markup >= 0n && fees.commission === 0n);
    }));
  });

  test("localacq's commission is the model's domestic cost (to localacq's exponent for IDR and HUF) (fast-check)", () => {
    const exponents: Record<string, number> = { BRL: 2, INR: 2, MXN: 2, TRY: 2, NGN: 2, USD: 2, EUR: 2, IDR: 0, HUF: 0 };
    fc.assert(fc.property(fc.integer({ min: 1, max: 1e10 }), fc.constantFrom(...Object.keys(exponents)), fc.constantFrom("visa", "elo", "rupay", "mastercard", "troy"), (amount, currency, brand) => {
      const own = exponents[currency];
      const scale = 10 ** (2 - own);
      const fees = localAcqCaptureFees(BigInt(amount), currency, own, brand);
      const model = estimateFee(defaultFeeModel, "localacq", { method: "card", brand, card_country: "BR", amount: amount * scale, currency });
      const difference = Number(fees.commission) * scale - model!.cost_minor;
      assert.ok(Math.abs(difference) <= (scale === 1 ? 0 : scale), `${amount} ${currency} ${brand}: ${difference}`);
      assert.ok(fees.interchange === 0n && fees.scheme_fees === 0n && fees.markup === 0n);
    }));
  });

  test("local schemes by PAN prefix", () => {
    assert.deepEqual([VISA, ELO, AMEX, "6521500000000008", "2200000000000004"].map(brandOfPan), ["visa", "elo", "amex", "rupay", "mir"]);
  });
});

describe("sandbox settlement: globalpay", () => {
  const bank = new Bank();
  let channel: RunningSandboxChannel;
  let transport: ReturnType<typeof createHttpTransport>;
  let connector: Connector;
  let source: SettlementSource;

  before(async () => {
    await bank.start();
    channel = await startSandboxChannel("globalpay", { port: 0, bank_url: bank.url });
    transport = createHttpTransport(channel.url);
    connector = createGlobalPayConnector({ transport, timeout_ms: TIMEOUT_MS, notification_secret: "test" });
    source = createGlobalPaySettlementSource({ transport, timeout_ms: TIMEOUT_MS });
  });

  after(async () => {
    await transport.close();
    await channel.close();
    await bank.stop();
  });

  test("a close reports what globalpay captured, refunded and charged back, net of its fees, and pays each batch to the bank", async () => {
    await close(channel); // whatever earlier tests left
    const sale = authorization(VISA, 10_000, "USD", true);
    await approved(connector, sale);
    const authorized = authorization(VISA, 2_550, "USD", false);
    const auth_id = await approved(connector, authorized);
    const capture = await connector.capture({ channel_reference: auth_id, reference: reference("op"), amount: 2_550, currency: "USD" });
    assert.equal(capture.kind, "succeeded");
    const refund_id = reference("re");
    const refund = await connector.refund({ channel_reference: auth_id, reference: refund_id, amount: 1_000, currency: "USD" });
    assert.equal(refund.kind, "succeeded");
    const tooMuch = await connector.refund({ channel_reference: auth_id, reference: reference("re"), amount: 5_000, currency: "USD" });
    assert.equal(tooMuch.kind, "declined", "a refused refund settles nothing");
    const voided = authorization(VISA, 700, "USD", false);
    await connector.void({ channel_reference: await approved(connector, voided), reference: reference("op"), currency: "USD" });
    assert.equal((await connector.authorize(authorization("4000000000000002", 900, "USD", true))).kind, "declined");
    const amex = authorization(AMEX, 4_999, "EUR", true);
    await approved(connector, amex);
    const opened = await fetch(`${channel.url}/_sandbox/chargebacks`, { method: "POST", body: JSON.stringify({ merchant_reference: amex.reference, reason_code: "12.6", amount: 2_000 }) });
    assert.equal(opened.status, 201);
    const dispute = (await opened.json()) as { id: string };

    const closed = await close(channel);
    assert.ok(closed.published && closed.report_id);
    assert.equal(closed.funded, true, JSON.stringify(closed.payouts));
    const saleFees = globalPayCaptureFees(10_000n, "USD", "visa");
    const captureFees = globalPayCaptureFees(2_550n, "USD", "visa");
    const amexFees = globalPayCaptureFees(4_999n, "EUR", "amex");
    assert.deepEqual(closed.lines.map(summary).sort(), [
      `settled ${sale.reference} ${closed.lines.find((line) => line.merchant_reference === sale.reference)!.channel_reference} USD 10000 ${10_000 - Number(totalFees(saleFees))}`,
      `settled ${authorized.reference} ${auth_id} USD 2550 ${2_550 - Number(totalFees(captureFees))}`,
      `refunded ${refund_id} ${refund.kind === "succeeded" ? refund.channel_reference : ""} USD -1000 -1000`,
      `settled ${amex.reference} ${closed.lines.find((line) => line.merchant_reference === amex.reference)!.channel_reference} EUR 4999 ${4_999 - Number(totalFees(amexFees))}`,
      `chargeback ${amex.reference} ${dispute.id} EUR -2000 -2000`,
      `fee ${amex.reference} ${dispute.id} EUR 0 -1500`,
    ].sort());
    const [eur, usd] = closed.batches;
    assert.deepEqual([eur.currency, usd.currency, usd.batch_number], ["EUR", "USD", eur.batch_number + 1]);
    assert.equal(usd.net, 10_000 + 2_550 - 1_000 - Number(totalFees(saleFees) + totalFees(captureFees)));

    // Corridor's side: listed, fetched and parsed, the same lines.
    const listed = await source.listFiles(100);
    assert.ok(Array.isArray(listed) && listed.at(-1)?.id === closed.report_id, JSON.stringify(listed));
    const lines = parsedLines(parseGlobalPayReport(await fetched(source, closed.report_id)));
    assert.deepEqual(lines.filter((line) => line.type !== "payout").map(summary).sort(), closed.lines.map(summary).sort());
    const settled = lines.find((line) => line.merchant_reference === authorized.reference)!;
    assert.deepEqual([settled.interchange, settled.scheme_fees, settled.markup, settled.commission], [46, 5, 53, 0]);
    assert.deepEqual(lines.filter((line) => line.type === "payout").map((line) => [line.batch_number, line.net]), [
      [String(eur.batch_number), -eur.net], [String(usd.batch_number), -usd.net],
    ]);

    // One credit per batch (per currency), named by its batch number.
    assert.ok(eur.net > 0 && usd.net > 0);
    assert.deepEqual(bank.credits.slice(-2).sort((x, y) => String(x.currency).localeCompare(String(y.currency))), [eur, usd].map((batch) => ({
      reference: `GLOBALPAY-STL-${batch.batch_number}`, debtor: "globalpay", amount: batch.net, currency: batch.currency,
      remittance: `GLOBALPAY SETTLEMENT BATCHES ${batch.batch_number}`,
    })));
    assert.deepEqual(closed.payouts.map((payout) => [payout.currency, payout.funded]), [["EUR", true], ["USD", true]]);

    // Nothing is settled twice; the won chargeback is credited back in the next close.
    const empty = await close(channel);
    assert.equal(empty.report_id, null);
    const won = await fetch(`${channel.url}/_sandbox/chargebacks/${dispute.id}/decide`, { method: "POST", body: JSON.stringify({ outcome: "won" }) });
    assert.equal(won.status, 200);
    const reversed = await close(channel);
    assert.deepEqual(reversed.lines.map(summary), [`chargeback_reversal ${amex.reference} ${dispute.id} EUR 2000 2000`]);
    assert.equal(reversed.batches[0].batch_number, usd.batch_number + 1);

    // A batch that owes the channel (refunds only) pays nothing; its payout row is a credit.
    const back = await connector.refund({ channel_reference: auth_id, reference: reference("re"), amount: 1_550, currency: "USD" });
    assert.equal(back.kind, "succeeded");
    const negative = await close(channel);
    assert.deepEqual([negative.batches[0].net, negative.payouts, negative.funded], [-1_550, [], true]);
    const rows = (await fetched(source, negative.report_id!)).trimEnd().split("\n");
    assert.match(rows.at(-1)!, /,MerchantPayout,GLOBALPAY-STL-\d+,USD,,,1,USD,,15\.50,,,,,\d+$/);
  });

  test("each seeded fault does exactly what it says, and the close says what it injected", async () => {
    const sales: AuthorizeRequest[] = [];
    for (const amount of [1_200, 1_300, 1_400, 1_500, 1_600]) {
      const sale = authorization(VISA, amount, "EUR", true);
      await approved(connector, sale);
      sales.push(sale);
    }
    const ref = (index: number) => sales[index].reference;
    const credits = bank.credits.length;
    const closed = await close(channel, {
      drop: [ref(0)], duplicate: [ref(1)], change_amount: { [ref(2)]: 500 }, wrong_fee: { [ref(3)]: 300 }, late: true, repeat: true, unfunded: true,
    });
    assert.equal(closed.published, false);
    assert.deepEqual(closed.faults, {
      dropped: [{ merchant_reference: ref(0), type: "settled", batch_number: closed.batches[0].batch_number }],
      duplicated: [{ merchant_reference: ref(1), type: "settled", batch_number: closed.batches[0].batch_number }],
      amount_changed: [{ merchant_reference: ref(2), type: "settled", batch_number: closed.batches[0].batch_number, delta: 500 }],
      fee_changed: [{ merchant_reference: ref(3), type: "settled", batch_number: closed.batches[0].batch_number, delta: 300, requested: 300, field: "markup" }],
      late: true, repeat: { report_id: `${closed.report_id}_2` }, unfunded: true, unmatched: [],
    });
    assert.equal(closed.funded, false);
    assert.deepEqual(closed.payouts, []);
    assert.equal(bank.credits.length, credits, "unfunded: nothing paid");

    // Late: neither copy is listed or served until published.
    const before = await source.listFiles(1000);
    assert.ok(Array.isArray(before) && !before.some((file) => file.id.startsWith(closed.report_id!)));
    assert.ok("unreachable" in (await source.fetchFile(closed.report_id!)));
    for (const id of [closed.report_id!, `${closed.report_id}_2`]) {
      const published = await fetch(`${channel.url}/_sandbox/settlement/reports/${id}/publish`, { method: "POST" });
      assert.equal(published.status, 200);
    }
    const listed = await source.listFiles(2);
    assert.deepEqual(Array.isArray(listed) && listed.map((file) => file.id), [closed.report_id, `${closed.report_id}_2`]);
    const content = await fetched(source, closed.report_id!);
    assert.equal(await fetched(source, `${closed.report_id}_2`), content, "repeat: the same bytes twice");

    const lines = parsedLines(parseGlobalPayReport(content));
    const of = (index: number) => lines.filter((line) => line.merchant_reference === ref(index));
    const fees = (amount: number) => Number(totalFees(globalPayCaptureFees(BigInt(amount), "EUR", "visa")));
    assert.equal(of(0).length, 0, "dropped");
    assert.equal(of(1).length, 2, "duplicated");
    assert.deepEqual(of(1)[0], { ...of(1)[1], line: of(1)[0].line });
    assert.deepEqual([of(2)[0].gross, of(2)[0].net], [1_900, 1_900 - fees(1_400)], "gross and net changed by the delta, the fee as priced");
    assert.deepEqual([of(3)[0].gross, of(3)[0].net, of(3)[0].markup], [1_500, 1_500 - fees(1_500) - 300, Number(globalPayCaptureFees(1_500n, "EUR", "visa").markup) + 300]);
    assert.deepEqual([of(4)[0].gross, of(4)[0].net], [1_600, 1_600 - fees(1_600)], "untouched");
    const payout = lines.find((line) => line.type === "payout")!;
    assert.equal(payout.net, -lines.filter((line) => line.type !== "payout").reduce((sum, line) => sum + line.net, 0), "the payout row is the sum of the lines as written");
  });

  test("a repeated report that is not late is listed and served twice, under both ids", async () => {
    const sale = authorization(VISA, 900, "USD", true);
    await approved(connector, sale);
    const closed = await close(channel, { repeat: true });
    assert.equal(closed.published, true);
    const listed = await source.listFiles(2);
    assert.deepEqual(Array.isArray(listed) && listed.map((file) => file.id), [closed.report_id, `${closed.report_id}_2`]);
    assert.equal(await fetched(source, `${closed.report_id}_2`), await fetched(source, closed.report_id!), "the same bytes twice");
  });

  test("faults that name no line, and malformed faults", async () => {
    const sale = authorization(VISA, 800, "GBP", true);
    await approved(connector, sale);
    const bad = await fetch(`${channel.url}/_sandbox/settlement/close`, { method: "POST", body: JSON.stringify({ faults: { drop: "x" } }) });
    assert.equal(bad.status, 400);
    const unknown = await fetch(`${channel.url}/_sandbox/settlement/close`, { method: "POST", body: JSON.stringify({ faults: { explode: true } }) });
    assert.equal(unknown.status, 400);
    const closed = await close(channel, { drop: ["att_nobody"], wrong_fee: { [sale.reference]: -100_000 } });
    assert.deepEqual(closed.faults.unmatched, ["att_nobody"]);
    const fees = globalPayCaptureFees(800n, "GBP", "visa");
    assert.deepEqual(closed.faults.fee_changed.map((change) => [change.delta, change.requested]), [[-Number(fees.markup), -100_000]], "a fee never goes below zero");
    assert.equal(closed.lines[0].net, 800 - Number(fees.interchange + fees.scheme_fees));
  });

  test("a payout the bank refuses for a while is retried; one it keeps refusing leaves the close unfunded", async () => {
    await approved(connector, authorization(VISA, 5_000, "USD", true));
    bank.failures = [503, 503];
    const retried = await close(channel);
    assert.equal(retried.funded, true);
    assert.equal(retried.payouts[0].attempts, 3);
    await approved(connector, authorization(VISA, 5_000, "USD", true));
    bank.failures = [500, 500, 500];
    const refused = await close(channel);
    assert.equal(refused.funded, false);
    assert.equal(refused.payouts[0].attempts, 3);
    assert.match(refused.payouts[0].error ?? "", /HTTP 500/);
    await approved(connector, authorization(VISA, 5_000, "USD", true));
    bank.failures = [409];
    const conflict = await close(channel);
    assert.deepEqual([conflict.funded, conflict.payouts[0].attempts], [false, 1], "a 4xx is final");
  });
});

describe("sandbox settlement: localacq", () => {
  const bank = new Bank();
  let channel: RunningSandboxChannel;
  let transport: ReturnType<typeof createHttpTransport>;
  let connector: Connector;
  let source: SettlementSource;

  before(async () => {
    await bank.start();
    channel = await startSandboxChannel("localacq", { port: 0, bank_url: bank.url });
    transport = createHttpTransport(channel.url);
    connector = createLocalAcqConnector({ transport, timeout_ms: TIMEOUT_MS });
    source = createLocalAcqSettlementSource({ transport, timeout_ms: TIMEOUT_MS });
  });

  after(async () => {
    await transport.close();
    await channel.close();
    await bank.stop();
  });

  test("a close reports sales, completions and refunds in its clearing file, net of its commission, and pays each batch", async () => {
    const sale = authorization(VISA, 10_000, "BRL", true);
    const sale_rrn = await approved(connector, sale);
    const local = authorization(ELO, 20_000, "BRL", true);
    const local_rrn = await approved(connector, local);
    const preauth = authorization(VISA, 9_000, "BRL", false);
    const preauth_rrn = await approved(connector, preauth);
    const completion = await connector.capture({ channel_reference: preauth_rrn, reference: reference("op"), amount: 8_000, currency: "BRL" });
    assert.equal(completion.kind, "succeeded");
    const refund_id = reference("re");
    const refund = await connector.refund({ channel_reference: sale_rrn, reference: refund_id, amount: 2_500, currency: "BRL" });
    assert.equal(refund.kind, "succeeded");
    const reversed = authorization(VISA, 3_000, "BRL", false);
    await connector.void({ channel_reference: await approved(connector, reversed), reference: reference("op"), currency: "BRL" });
    const rupiah = authorization(VISA, 15_000_000, "IDR", true); // 150 000 IDR
    const rupiah_rrn = await approved(connector, rupiah);

    const closed = await close(channel);
    assert.equal(closed.funded, true);
    const commission = (amount: bigint, currency: string, exponent: number, brand: string, scale: number) => Number(localAcqCaptureFees(amount, currency, exponent, brand).commission) * scale;
    assert.deepEqual(closed.lines.map(summary).sort(), [
      `settled ${sale.reference} ${sale_rrn} BRL 10000 ${10_000 - commission(10_000n, "BRL", 2, "visa", 1)}`,
      `settled ${local.reference} ${local_rrn} BRL 20000 ${20_000 - commission(20_000n, "BRL", 2, "elo", 1)}`,
      `settled ${preauth.reference} ${preauth_rrn} BRL 8000 ${8_000 - commission(8_000n, "BRL", 2, "visa", 1)}`,
      `refunded ${refund_id} ${refund.kind === "succeeded" ? refund.channel_reference : ""} BRL -2500 -2500`,
      `settled ${rupiah.reference} ${rupiah_rrn} IDR 15000000 ${15_000_000 - commission(150_000n, "IDR", 0, "visa", 100)}`,
    ].sort());
    assert.equal(commission(20_000n, "BRL", 2, "elo", 1), 220 + 25, "a local scheme: 110 bps + 5 US cents");

    const listed = await source.listFiles(10);
    assert.ok(Array.isArray(listed) && listed.at(-1)?.id === closed.report_id);
    const content = await fetched(source, closed.report_id!);
    assert.ok(content.split("\n").slice(0, -1).every((record) => record.length === 150));
    const lines = parsedLines(parseLocalAcqClearingFile(content));
    assert.deepEqual(lines.filter((line) => line.type !== "payout").map(summary).sort(), closed.lines.map(summary).sort());
    const payouts = lines.filter((line) => line.type === "payout").map((line) => [line.currency, -line.net]);
    assert.deepEqual(payouts, closed.batches.map((batch) => [batch.currency, batch.net]));
    assert.deepEqual(bank.credits.map((credit) => [credit.currency, credit.amount, credit.debtor, credit.remittance]),
      closed.batches.map((batch) => [batch.currency, batch.net, "localacq", `LOCALACQ SETTLEMENT BATCHES ${batch.batch_number}`]));
    assert.equal((await close(channel)).report_id, null, "nothing is settled twice");
  });

  test("faults on a clearing file; an amount change localacq cannot represent is refused", async () => {
    const a = authorization(VISA, 4_000, "BRL", true);
    const b = authorization(VISA, 5_000_000, "IDR", true);
    await approved(connector, a);
    await approved(connector, b);
    const refused = await fetch(`${channel.url}/_sandbox/settlement/close`, { method: "POST", body: JSON.stringify({ faults: { change_amount: { [b.reference]: 150 } } }) });
    assert.equal(refused.status, 400, "1.50 IDR is not representable without decimals");
    const closed = await close(channel, { duplicate: [a.reference], change_amount: { [b.reference]: 1_000 }, wrong_fee: { [a.reference]: 7 } });
    assert.equal(closed.faults.duplicated.length, 1);
    const lines = parsedLines(parseLocalAcqClearingFile(await fetched(source, closed.report_id!)));
    const ofA = lines.filter((line) => line.merchant_reference === a.reference);
    assert.equal(ofA.length, 2);
    assert.equal(ofA[0].commission, Number(localAcqCaptureFees(4_000n, "BRL", 2, "visa").commission) + 7);
    assert.equal(lines.find((line) => line.merchant_reference === b.reference)!.gross, 5_001_000);
  });

  test("a DE48 longer than the clearing file's field is refused at authorization", async () => {
    const outcome = await connector.authorize({ ...authorization(VISA, 1_000, "BRL", true), reference: "x".repeat(41) });
    assert.notEqual(outcome.kind, "approved");
  });
});

describe("sandbox settlement: the automatic close at the UTC day change", () => {
  test("closes what moved before midnight once the day changes, and only once", async () => {
    let now = new Date("2026-12-07T23:59:00Z");
    const channel = new GlobalPayChannel(1_000, (id) => `http://sandbox.invalid/3ds/${id}`);
    const desk = createGlobalPayDesk(channel, new GlobalPayChargebacks(), { now: () => now, first_batch_number: 7_000 });
    const card = { pan: VISA, exp_month: 12, exp_year: year, auto_capture: true, return_url: "https://shop.example/return" };
    const yesterday = channel.authorize({ ...card, merchant_reference: "att_yesterday", amount: { value: 1_000, currency: "EUR" } }).record;
    yesterday.captured_at = "2026-12-07T23:58:00.000Z";
    const today = channel.authorize({ ...card, merchant_reference: "att_today", amount: { value: 2_000, currency: "EUR" } }).record;
    today.captured_at = "2026-12-08T00:00:30.000Z";
    assert.equal(await desk.tick(), undefined, "the same day: nothing");
    now = new Date("2026-12-08T00:01:00Z");
    const closed = await desk.tick();
    assert.deepEqual(closed?.lines.map((line) => line.merchant_reference), ["att_yesterday"]);
    assert.equal(closed?.batches[0].batch_number, 7_000);
    assert.equal(closed?.funded, false, "no bank configured");
    assert.equal(await desk.tick(), undefined, "once per day");
    const manual = await desk.close();
    assert.ok(!("error" in manual));
    assert.deepEqual(!("error" in manual) && manual.lines.map((line) => line.merchant_reference), ["att_today"]);
    assert.deepEqual(desk.listPublished(10).map((report) => report.id), ["gpstl_7000", "gpstl_7001"]);
  });
});
