// A sandbox card channel's settlement desk, shared by globalpay and localacq. Each channel gives it
// an adapter that reads the channel's own records (what it captured, refunded, charged back) as
// money movements not yet settled, and writes the channel's own report format.
//
// A close takes every unsettled movement (the automatic close only those before the UTC day that
// just began), groups its lines by currency into batches — one batch per currency and close,
// numbered upwards per channel from 1000 + the seconds since 2024-01-01 at start, so numbers stay
// unique across restarts — applies the caller's seeded faults (./faults.ts), and publishes one report
// holding every batch of the close. The movements are then remembered as settled (by the adapter,
// on the records themselves), so no later close takes them again. Unless the close is unfunded,
// each batch with a positive net is paid to Corridor's account at the sandbox bank (./payout.ts),
// one credit per currency, its remittance naming the batches it funds.
//
// A close may settle some currencies converted into another (`settle_in`, ./conversion.ts; only a
// channel whose adapter says it converts): a converted line keeps its gross in the captured
// currency, its fees and net are in the settlement currency, and it goes into that currency's
// batch, whose payout is in that currency too. Without `settle_in` every line settles as captured.
//
// Control routes (test-driven):
//   POST /_sandbox/settlement/close                  {faults?, settle_in?} → the close (see CloseOutcome)
//   POST /_sandbox/settlement/reports/{id}/publish   publishes a held (late) report
//   GET  /_sandbox/settlement/reports                every report, published or held
// Amounts in these answers are ISO 4217 minor units (the channel's own exponent converted).
// The channel-facing routes (list and fetch published files) are each channel's own.
import { BoundedStore } from "../bounded-store.ts";
import { jsonResponse, parseJsonObject, type SandboxRequest, type SandboxResponse } from "../types.ts";
import { noFees, totalFees, type LineFees } from "./fees.ts";
import { convertAmount, convertLineMoney, parseSettleIn, settleAsCaptured, type SettleIn, type SettlementConversion } from "./conversion.ts";
import { noSettlementFaults, parseSettlementFaults, type SettlementFaults } from "./faults.ts";
import { toSafe, utcDate } from "./money.ts";
import { remittanceOf, sendPayout, type PayoutResult } from "./payout.ts";

export type DeskLineType = "settled" | "refunded" | "chargeback" | "chargeback_reversal" | "fee";

export interface DeskLine<D> {
  type: DeskLineType;
  merchant_reference: string;
  channel_reference: string;
  /** ISO 4217 alphabetic. */
  currency: string;
  /** Signed, the channel's own minor units for the currency. */
  gross: bigint;
  fees: LineFees;
  /** gross − fees; a converted line's the gross at the rate less the (converted) fees. */
  net: bigint;
  /** Set when the line is settled converted: `fees` and `net` are then in this currency. */
  settlement?: SettlementConversion;
  /** When the money moved (ms since the epoch). */
  at: number;
  /** The channel's own columns. */
  detail: D;
}

/** One money movement in the channel's records: its lines, and how to remember it as settled. */
export interface Movement<D> {
  at: number;
  lines: DeskLine<D>[];
  commit(): void;
}

export interface DeskBatch<D> {
  batch_number: number;
  /** The batch's settlement currency: its lines' net currency. */
  currency: string;
  /** The lines as written (after faults), oldest first. */
  lines: DeskLine<D>[];
  /** In the batch's currency (a converted line counts its net plus its fees). */
  gross: bigint;
  fees: LineFees;
  net: bigint;
}

export interface DeskAdapter<D> {
  channel: "globalpay" | "localacq";
  /** Whether the channel's report can settle a currency converted into another (`settle_in`). */
  converts: boolean;
  /** Every movement of the channel's records not yet settled. */
  movements(): Movement<D>[];
  /** The channel's minor units → ISO 4217 minor units (exact). */
  toIso(currency: string, amount: bigint): bigint;
  /** ISO 4217 minor units → the channel's, undefined when not representable. */
  fromIso(currency: string, amount: bigint): bigint | undefined;
  /** The fee column `wrong_fee` changes. */
  fee_field: keyof LineFees;
  naming(first_batch_number: number, created_at: Date): { id: string; filename: string };
  render(input: { created_at: Date; batches: DeskBatch<D>[] }): string;
}

export interface StoredReport {
  id: string;
  filename: string;
  created_at: string;
  body: string;
  published: boolean;
  /** The other id of a repeated report (the same bytes), if any. */
  repeat_of: string | null;
}

export interface LineSummary {
  batch_number: number;
  type: DeskLineType;
  merchant_reference: string;
  channel_reference: string;
  currency: string;
  gross: number;
  /** Converted lines only: the currency of `net` and `fees`, and the rate. */
  net_currency?: string;
  exchange_rate?: string;
  net: number;
  fees: number;
}

interface AppliedFault {
  merchant_reference: string;
  type: DeskLineType;
  batch_number: number;
}

export interface InjectedFaults {
  dropped: AppliedFault[];
  duplicated: AppliedFault[];
  amount_changed: (AppliedFault & { delta: number })[];
  fee_changed: (AppliedFault & { delta: number; requested: number; field: keyof LineFees })[];
  late: boolean;
  repeat: { report_id: string } | null;
  unfunded: boolean;
  /** References a fault named that no line of this close carries. */
  unmatched: string[];
}

export interface PayoutOutcome extends PayoutResult {
  reference: string;
  currency: string;
  amount: number;
  batch_numbers: number[];
  remittance: string;
}

export interface CloseOutcome {
  report_id: string | null;
  filename: string | null;
  published: boolean;
  created_at: string;
  batches: { batch_number: number; currency: string; lines: number; gross: number; fees: number; net: number }[];
  lines: LineSummary[];
  faults: InjectedFaults;
  /** Every batch with a positive net was credited at the bank (false without a bank, or unfunded). */
  funded: boolean;
  payouts: PayoutOutcome[];
}

export interface DeskOptions {
  bank_url?: string;
  /** The first batch number (default 1000 + seconds since 2024-01-01). */
  first_batch_number?: number;
  now?: () => Date;
  reports_kept?: number;
}

const BATCH_EPOCH_MS = Date.UTC(2024, 0, 1);
export const AUTO_CLOSE_CHECK_MS = 60_000;
export const DEFAULT_REPORTS_KEPT = 1_000;
export const REPORT_LIST_DEFAULT = 100;
export const REPORT_LIST_MAX = 1_000;
const PUBLISH_PATH = /^\/_sandbox\/settlement\/reports\/([^/]+)\/publish$/;

export class SettlementDesk<D> {
  private readonly reports: BoundedStore<StoredReport>;
  /** Published report ids, in the order of publication. */
  private published: string[] = [];
  private nextBatch: number;
  private readonly now: () => Date;
  private day: string;
  private timer: NodeJS.Timeout | undefined;

  get channel(): string {
    return this.adapter.channel;
  }

  constructor(private readonly adapter: DeskAdapter<D>, private readonly options: DeskOptions = {}) {
    this.now = options.now ?? (() => new Date());
    this.nextBatch = options.first_batch_number ?? 1000 + Math.max(0, Math.floor((this.now().getTime() - BATCH_EPOCH_MS) / 1000));
    this.reports = new BoundedStore(options.reports_kept ?? DEFAULT_REPORTS_KEPT);
    this.day = utcDate(this.now());
  }

  /** Closes the previous UTC day once the day changes (checked every minute, never keeps the process alive). */
  startAutoClose(check_ms = AUTO_CLOSE_CHECK_MS): void {
    if (this.timer) return;
    // The timer holds the desk weakly: a channel nobody uses any more is collected, and its timer ends.
    const desk = new WeakRef<SettlementDesk<D>>(this);
    const timer = setInterval(() => {
      const live = desk.deref();
      if (live) live.tick().catch((error: unknown) => process.stderr.write(`${live.channel} settlement close failed: ${error instanceof Error ? error.message : String(error)}\n`));
      else clearInterval(timer);
    }, check_ms);
    timer.unref();
    this.timer = timer;
  }

  stopAutoClose(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }

  /** One check of the day: at a new UTC day, closes what moved before it. */
  async tick(): Promise<CloseOutcome | undefined> {
    const now = this.now();
    const today = utcDate(now);
    if (today === this.day) return undefined;
    this.day = today;
    const result = await this.close({ cutoff_ms: Date.parse(`${today}T00:00:00.000Z`) });
    return "error" in result ? undefined : result;
  }

  findPublished(id: string): StoredReport | undefined {
    const report = this.reports.get(id);
    return report?.published ? report : undefined;
  }

  /** Published reports, newest last, at most `limit`. */
  listPublished(limit: number): StoredReport[] {
    this.published = this.published.filter((id) => this.reports.get(id) !== undefined);
    return this.published.slice(-limit).map((id) => this.reports.get(id)!);
  }

  allReports(): StoredReport[] {
    return [...this.reports.values()];
  }

  publish(id: string): { report: StoredReport; already: boolean } | undefined {
    const report = this.reports.get(id);
    if (!report) return undefined;
    if (report.published) return { report, already: true };
    report.published = true;
    this.published.push(id);
    return { report, already: false };
  }

  async close(input: { faults?: SettlementFaults; cutoff_ms?: number; settle_in?: SettleIn } = {}): Promise<CloseOutcome | { error: string }> {
    const faults = input.faults ?? noSettlementFaults;
    const settleIn = input.settle_in ?? settleAsCaptured;
    if (settleIn.size > 0 && !this.adapter.converts) return { error: `${this.adapter.channel} settles every line in the currency it captured (no settle_in)` };
    const created_at = this.now();
    const movements = this.adapter.movements().filter((movement) => input.cutoff_ms === undefined || movement.at < input.cutoff_ms);
    const byCurrency = new Map<string, DeskLine<D>[]>();
    for (const movement of movements) {
      for (const captured of movement.lines) {
        const line = settledLine(captured, settleIn);
        const currency = line.settlement?.currency ?? line.currency;
        const lines = byCurrency.get(currency) ?? [];
        lines.push(line);
        byCurrency.set(currency, lines);
      }
    }
    const currencies = [...byCurrency.keys()].sort();
    const injected: InjectedFaults = {
      dropped: [], duplicated: [], amount_changed: [], fee_changed: [], late: false, repeat: null, unfunded: faults.unfunded, unmatched: [],
    };
    const named = [...faults.drop, ...faults.duplicate, ...Object.keys(faults.change_amount), ...Object.keys(faults.wrong_fee)];
    if (currencies.length === 0) {
      injected.unmatched = [...new Set(named)];
      return { report_id: null, filename: null, published: false, created_at: created_at.toISOString(), batches: [], lines: [], faults: injected, funded: false, payouts: [] };
    }
    const batches: DeskBatch<D>[] = [];
    const seen = new Set<string>();
    for (const [index, currency] of currencies.entries()) {
      const sorted = byCurrency.get(currency)!.sort((a, b) => a.at - b.at);
      const lines = this.applyFaults(sorted, faults, this.nextBatch + index, injected, seen);
      if (typeof lines === "string") return { error: lines };
      batches.push(batchOf(this.nextBatch + index, currency, lines));
    }
    for (const reference of named) {
      if (!seen.has(reference) && !injected.unmatched.includes(reference)) injected.unmatched.push(reference);
    }
    this.nextBatch += batches.length;
    for (const movement of movements) movement.commit();

    const { id, filename } = this.adapter.naming(batches[0].batch_number, created_at);
    const body = this.adapter.render({ created_at, batches });
    const report: StoredReport = { id, filename, created_at: created_at.toISOString(), body, published: false, repeat_of: null };
    this.reports.set(id, report);
    injected.late = faults.late;
    if (!faults.late) this.publish(id);
    if (faults.repeat) {
      // Unpublished until published itself (the first copy may already be): otherwise publish()
      // takes it for already published and never lists it.
      const twin: StoredReport = { ...report, id: `${id}_2`, repeat_of: id, published: false };
      report.repeat_of = twin.id;
      this.reports.set(twin.id, twin);
      if (!faults.late) this.publish(twin.id);
      injected.repeat = { report_id: twin.id };
    }
    const payouts = faults.unfunded ? [] : await this.payOut(batches);
    const funded = !faults.unfunded && this.options.bank_url !== undefined && payouts.every((payout) => payout.funded);
    return {
      report_id: id, filename, published: report.published, created_at: report.created_at,
      batches: batches.map((batch) => ({
        batch_number: batch.batch_number, currency: batch.currency, lines: batch.lines.length,
        gross: this.iso(batch.currency, batch.gross), fees: this.iso(batch.currency, totalFees(batch.fees)), net: this.iso(batch.currency, batch.net),
      })),
      lines: batches.flatMap((batch) => batch.lines.map((line): LineSummary => ({
        batch_number: batch.batch_number, type: line.type, merchant_reference: line.merchant_reference, channel_reference: line.channel_reference,
        currency: line.currency, gross: this.iso(line.currency, line.gross),
        ...(line.settlement ? { net_currency: line.settlement.currency, exchange_rate: line.settlement.exchange_rate } : {}),
        net: this.iso(batch.currency, line.net), fees: this.iso(batch.currency, totalFees(line.fees)),
      }))),
      faults: injected, funded, payouts,
    };
  }

  /** The control routes; undefined for any other path. */
  async controlRoute(request: SandboxRequest): Promise<SandboxResponse | undefined> {
    const { method, path } = request;
    if (path === "/_sandbox/settlement/close") {
      if (method !== "POST") return deskError(405, "METHOD_NOT_ALLOWED", "POST to close");
      const body = request.body.trim() === "" ? {} : parseJsonObject(request.body);
      if (!body) return deskError(400, "INVALID_REQUEST", "the body is a JSON object {faults?, settle_in?}");
      const parsed = parseSettlementFaults(body.faults);
      if (!parsed.ok) return deskError(400, "INVALID_REQUEST", parsed.message);
      const settleIn = parseSettleIn(body.settle_in);
      if (!settleIn.ok) return deskError(400, "INVALID_REQUEST", settleIn.message);
      const result = await this.close({ faults: parsed.faults, settle_in: settleIn.settle_in });
      if ("error" in result) return deskError(400, "INVALID_REQUEST", result.error);
      return jsonResponse(200, result);
    }
    if (path === "/_sandbox/settlement/reports" && method === "GET") {
      return jsonResponse(200, { reports: this.allReports().map(({ body: _body, ...report }) => report) });
    }
    const publish = PUBLISH_PATH.exec(path);
    if (publish) {
      if (method !== "POST") return deskError(405, "METHOD_NOT_ALLOWED", "POST to publish");
      const result = this.publish(decodeURIComponent(publish[1]));
      if (!result) return deskError(404, "NOT_FOUND", "no such report");
      const { id, filename, published, created_at } = result.report;
      return jsonResponse(200, { report_id: id, filename, published, created_at, already_published: result.already });
    }
    return undefined;
  }

  private iso(currency: string, amount: bigint): number {
    return toSafe(this.adapter.toIso(currency, amount));
  }

  private applyFaults(lines: DeskLine<D>[], faults: SettlementFaults, batch_number: number, injected: InjectedFaults, seen: Set<string>): DeskLine<D>[] | string {
    const drop = new Set(faults.drop);
    const duplicate = new Set(faults.duplicate);
    const changes = new Map(Object.entries(faults.change_amount));
    const feeChanges = new Map(Object.entries(faults.wrong_fee));
    const out: DeskLine<D>[] = [];
    for (const original of lines) {
      const reference = original.merchant_reference;
      const applied = { merchant_reference: reference, type: original.type, batch_number };
      if (drop.has(reference)) {
        seen.add(reference);
        injected.dropped.push(applied);
        continue;
      }
      let line = original;
      const moneyLine = line.type !== "fee";
      const change = changes.get(reference);
      if (change !== undefined && moneyLine) {
        seen.add(reference);
        const delta = this.adapter.fromIso(line.currency, BigInt(change));
        if (delta === undefined) return `change_amount ${change} for ${reference} is not representable in ${this.adapter.channel}'s minor units of ${line.currency}`;
        // A converted line's net moves by the delta at its rate (the channel reports another amount, converted as usual).
        const netDelta = line.settlement ? convertAmount(delta, line.settlement) : delta;
        line = { ...line, gross: line.gross + delta, net: line.net + netDelta };
        injected.amount_changed.push({ ...applied, delta: change });
      }
      const feeChange = feeChanges.get(reference);
      if (feeChange !== undefined && moneyLine) {
        seen.add(reference);
        const requested = this.adapter.fromIso(line.currency, BigInt(feeChange));
        if (requested === undefined) return `wrong_fee ${feeChange} for ${reference} is not representable in ${this.adapter.channel}'s minor units of ${line.currency}`;
        const field = this.adapter.fee_field;
        const delta = requested < -line.fees[field] ? -line.fees[field] : requested;
        line = { ...line, fees: { ...line.fees, [field]: line.fees[field] + delta }, net: line.net - delta };
        injected.fee_changed.push({ ...applied, delta: toSafe(this.adapter.toIso(line.currency, delta)), requested: feeChange, field });
      }
      out.push(line);
      if (duplicate.has(reference)) {
        seen.add(reference);
        out.push(line);
        injected.duplicated.push(applied);
      }
    }
    return out;
  }

  private async payOut(batches: DeskBatch<D>[]): Promise<PayoutOutcome[]> {
    const due = batches.filter((batch) => batch.net > 0n);
    const bank_url = this.options.bank_url;
    return Promise.all(due.map(async (batch): Promise<PayoutOutcome> => {
      const channel = this.adapter.channel;
      const payout = {
        reference: `${channel.toUpperCase()}-STL-${batch.batch_number}`,
        debtor: channel,
        amount: this.iso(batch.currency, batch.net),
        currency: batch.currency,
        remittance: remittanceOf(channel, [batch.batch_number]),
      };
      const result: PayoutResult = bank_url === undefined ? { funded: false, attempts: 0, error: "no bank_url is configured" } : await sendPayout(bank_url, payout);
      return { ...result, reference: payout.reference, currency: payout.currency, amount: payout.amount, batch_numbers: [batch.batch_number], remittance: payout.remittance };
    }));
  }
}

/** The line as it settles: converted when its currency is one `settle_in` names. */
function settledLine<D>(line: DeskLine<D>, settleIn: SettleIn): DeskLine<D> {
  const conversion = settleIn.get(line.currency);
  if (!conversion) return line;
  const { fees, net } = convertLineMoney(line.gross, line.fees, conversion);
  return { ...line, fees, net, settlement: conversion };
}

function batchOf<D>(batch_number: number, currency: string, lines: DeskLine<D>[]): DeskBatch<D> {
  let gross = 0n;
  let net = 0n;
  const fees = { ...noFees };
  for (const line of lines) {
    gross += line.settlement ? line.net + totalFees(line.fees) : line.gross;
    net += line.net;
    fees.interchange += line.fees.interchange;
    fees.scheme_fees += line.fees.scheme_fees;
    fees.markup += line.fees.markup;
    fees.commission += line.fees.commission;
  }
  return { batch_number, currency, lines, gross, fees, net };
}

function deskError(status: number, code: string, message: string): SandboxResponse {
  return jsonResponse(status, { error: { code, message } });
}

/** `?limit=` of a list route: default, bounds, or undefined when malformed. */
export function listLimit(text: string | undefined): number | undefined {
  if (text === undefined) return REPORT_LIST_DEFAULT;
  if (!/^\d{1,4}$/.test(text)) return undefined;
  const limit = Number(text);
  return limit >= 1 && limit <= REPORT_LIST_MAX ? limit : undefined;
}
