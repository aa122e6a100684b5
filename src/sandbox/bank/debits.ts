// sandboxbank direct debits: the bank's side of SEPA Core/B2B and ACH collections, on a simulated
// clock that tests advance. Its own wire format:
//   POST /debits                      {merchant_ref, scheme, sequence_type, presentment, amount, currency,
//                                      mandate: {reference, signed_on, creditor_id}, debtor: {name, iban, bic,
//                                      routing_number, account_number, account_type}} → the debit, pending
//                                      (idempotent by merchant_ref)
//   GET  /debits/:merchant_ref        one debit
//   GET  /debits                      every debit (reconciliation)
//   GET  /_sandbox/clock              {now, offset_days}
//   POST /_sandbox/clock/advance      {days, drop_notifications?} moves the simulated clock forward; debits
//                                      due settle or come back (drop_notifications loses their notices)
//   POST /_sandbox/debits/:merchant_ref/notify   sends the notice of the debit's current state again
//   POST /_sandbox/debits/faults      {lose_answers} the next N submissions are recorded, but their answer
//                                      is lost (the connection is reset): the sender cannot know
// A debit settles DEBIT_SETTLEMENT_BANKING_DAYS banking days (Mon–Fri) after it was submitted, unless
// its account says otherwise. Outcomes by the last four digits of the debtor's IBAN (SEPA) or
// account number (ACH):
//   SEPA  …0404 AM04 insufficient funds      before settlement
//         …0104 AC04 account closed          before settlement
//         …0601 MD01 no mandate              before settlement
//         …0302 MS02 refused by the debtor   before settlement
//         …0606 MD06 refund request          RETURN_AFTER_SETTLEMENT_BANKING_DAYS after settlement
//         anything else                      settles (e.g. DE89370400440532013000)
//   ACH   …0001 R01 insufficient funds       before settlement, first presentment only (re-presentments settle)
//         …0011 R01 insufficient funds       before settlement, every presentment
//         …0009 R09 uncollected funds        before settlement, first presentment only
//         …0002 R02 account closed           before settlement
//         …0003 R03 no account               before settlement
//         …0010 R10 not authorized           after settlement
//         …0029 R29 corporate not authorized after settlement
//         anything else                      settles (e.g. 000123456789)
// Each change is notified to `notify_url` as {event: "debit.settled" | "debit.returned", merchant_ref,
// ...}, signed like the bank's transfer notices (x-sbank-signature).
import { deliverNotification } from "../notifier.ts";
import { BoundedStore } from "../bounded-store.ts";
import { createSandboxClock, type SandboxClock } from "./clock.ts";
import { jsonResponse, parseJsonObject, type SandboxRequest, type SandboxResponse } from "../types.ts";

export const DEBIT_SETTLEMENT_BANKING_DAYS = 2;
export const RETURN_AFTER_SETTLEMENT_BANKING_DAYS = 3;
const dayMs = 86_400_000;
const advanceDaysMax = 3650;
const lostAnswersMax = 100;

interface Scenario {
  reason_code: string;
  when: "before_settlement" | "after_settlement";
  /** "first": only the first presentment is returned. */
  presentments: "first" | "all";
}

const sepaScenarios: Readonly<Record<string, Scenario>> = {
  "0404": { reason_code: "AM04", when: "before_settlement", presentments: "all" },
  "0104": { reason_code: "AC04", when: "before_settlement", presentments: "all" },
  "0601": { reason_code: "MD01", when: "before_settlement", presentments: "all" },
  "0302": { reason_code: "MS02", when: "before_settlement", presentments: "all" },
  "0606": { reason_code: "MD06", when: "after_settlement", presentments: "all" },
};

const achScenarios: Readonly<Record<string, Scenario>> = {
  "0001": { reason_code: "R01", when: "before_settlement", presentments: "first" },
  "0011": { reason_code: "R01", when: "before_settlement", presentments: "all" },
  "0009": { reason_code: "R09", when: "before_settlement", presentments: "first" },
  "0002": { reason_code: "R02", when: "before_settlement", presentments: "all" },
  "0003": { reason_code: "R03", when: "before_settlement", presentments: "all" },
  "0010": { reason_code: "R10", when: "after_settlement", presentments: "all" },
  "0029": { reason_code: "R29", when: "after_settlement", presentments: "all" },
};

interface Debit {
  debit_id: string;
  merchant_ref: string;
  scheme: "sepa_core" | "sepa_b2b" | "ach";
  sequence_type: string | null;
  presentment: number;
  amount: number;
  currency: string;
  mandate_reference: string;
  account_last4: string;
  status: "pending" | "settled" | "returned";
  submitted_at: string;
  settles_at: string;
  settled_at: string | null;
  return: { return_id: string; reason_code: string; returned_at: string } | null;
  /** What this debit will do (decided at submission by the account). */
  scenario: Scenario | null;
}

export interface SandboxDebitsOptions {
  notify_url?: string;
  secret: string;
  sign(secret: string, body: string): string;
  signature_header: string;
  newId(prefix: string): string;
  capacity?: number;
  /** Shared with the rest of the bank (the platform account books by it); a clock of its own otherwise. */
  clock?: SandboxClock;
}

/** Adds `days` banking days (Monday to Friday) to a time. */
export function addBankingDays(from_ms: number, days: number): number {
  let at = from_ms;
  for (let added = 0, steps = 0; added < days && steps < days * 3 + 7; steps++) {
    at += dayMs;
    const weekday = new Date(at).getUTCDay();
    if (weekday !== 0 && weekday !== 6) added++;
  }
  return at;
}

const schemes = new Set(["sepa_core", "sepa_b2b", "ach"]);
const sequenceTypes = new Set(["FRST", "RCUR", "OOFF", "FNAL"]);

/** The debit routes of the bank; answers undefined for any other path. */
export function createSandboxDebits(options: SandboxDebitsOptions): (request: SandboxRequest) => Promise<SandboxResponse | undefined> {
  const debits = new BoundedStore<Debit>(options.capacity ?? 100_000);
  const clock = options.clock ?? createSandboxClock();
  let answers_to_lose = 0;
  const now = () => clock.now();
  const iso = (ms: number) => new Date(ms).toISOString();

  function view(debit: Debit) {
    const { scenario: _scenario, ...shown } = debit;
    return shown;
  }

  function notify(debit: Debit): void {
    if (!options.notify_url || debit.status === "pending") return;
    const payload = JSON.stringify({
      event: debit.status === "settled" ? "debit.settled" : "debit.returned", debit_id: debit.debit_id, merchant_ref: debit.merchant_ref,
      amount: debit.amount, currency: debit.currency, status: debit.status, reason_code: debit.return?.reason_code ?? null,
    });
    void deliverNotification({ url: options.notify_url, body: payload, signature_header: options.signature_header, signature: options.sign(options.secret, payload) });
  }

  /** Moves a debit along the simulated clock; true when it changed. */
  function progress(debit: Debit): boolean {
    const at = now();
    const scenario = debit.scenario;
    let changed = false;
    if (debit.status === "pending" && Date.parse(debit.settles_at) <= at) {
      if (scenario?.when === "before_settlement") {
        debit.status = "returned";
        debit.return = { return_id: options.newId("rtn"), reason_code: scenario.reason_code, returned_at: debit.settles_at };
      } else {
        debit.status = "settled";
        debit.settled_at = debit.settles_at;
      }
      changed = true;
    }
    if (debit.status === "settled" && scenario?.when === "after_settlement") {
      const returns_at = addBankingDays(Date.parse(debit.settled_at!), RETURN_AFTER_SETTLEMENT_BANKING_DAYS);
      if (returns_at <= at) {
        debit.status = "returned";
        debit.return = { return_id: options.newId("rtn"), reason_code: scenario.reason_code, returned_at: iso(returns_at) };
        changed = true;
      }
    }
    return changed;
  }

  function scenarioFor(scheme: string, account: string, presentment: number): Scenario | null {
    const table = scheme === "ach" ? achScenarios : sepaScenarios;
    const scenario = table[account.slice(-4)];
    if (!scenario || (scenario.presentments === "first" && presentment > 1)) return null;
    return scenario;
  }

  function submit(request: SandboxRequest): SandboxResponse {
    const body = parseJsonObject(request.body);
    const { merchant_ref, scheme, sequence_type, presentment, amount, currency } = body ?? {};
    const mandate = body?.mandate as Record<string, unknown> | undefined;
    const debtor = body?.debtor as Record<string, unknown> | undefined;
    if (typeof merchant_ref !== "string" || !merchant_ref || typeof scheme !== "string" || !schemes.has(scheme) ||
      !Number.isSafeInteger(amount) || (amount as number) <= 0 || !Number.isSafeInteger(presentment) || (presentment as number) < 1 ||
      (presentment as number) > 3 || typeof currency !== "string" || typeof mandate?.reference !== "string" || typeof debtor?.name !== "string") {
      return jsonResponse(400, { error: "invalid_debit", message: "merchant_ref, scheme, presentment (1-3), amount (positive integer), currency, mandate.reference and debtor.name are required" });
    }
    const sepa = scheme !== "ach";
    const account = sepa ? debtor.iban : debtor.account_number;
    if (typeof account !== "string" || account.length < 4 || (!sepa && typeof debtor.routing_number !== "string")) {
      return jsonResponse(400, { error: "invalid_debtor", message: sepa ? "debtor.iban is required" : "debtor.routing_number and debtor.account_number are required" });
    }
    if (currency !== (sepa ? "EUR" : "USD")) return jsonResponse(400, { error: "invalid_currency", message: sepa ? "SEPA debits are in EUR" : "ACH debits are in USD" });
    if (sepa && (typeof sequence_type !== "string" || !sequenceTypes.has(sequence_type))) {
      return jsonResponse(400, { error: "invalid_sequence_type", message: "SEPA debits need sequence_type FRST, RCUR, OOFF or FNAL" });
    }
    const existing = debits.get(merchant_ref);
    if (existing) return jsonResponse(200, { debit: view(existing) });
    const submitted = now();
    const debit: Debit = {
      debit_id: options.newId("dbt"), merchant_ref, scheme: scheme as Debit["scheme"], sequence_type: sepa ? (sequence_type as string) : null,
      presentment: presentment as number, amount: amount as number, currency, mandate_reference: mandate.reference, account_last4: account.slice(-4),
      status: "pending", submitted_at: iso(submitted), settles_at: iso(addBankingDays(submitted, DEBIT_SETTLEMENT_BANKING_DAYS)),
      settled_at: null, return: null, scenario: scenarioFor(scheme, account, presentment as number),
    };
    debits.set(merchant_ref, debit);
    if (answers_to_lose > 0) {
      answers_to_lose--;
      return { ...jsonResponse(201, { debit: view(debit) }), destroy_socket: true };
    }
    return jsonResponse(201, { debit: view(debit) });
  }

  function advance(request: SandboxRequest): SandboxResponse {
    const body = parseJsonObject(request.body);
    const days = body?.days;
    if (!Number.isSafeInteger(days) || (days as number) < 1 || (days as number) > advanceDaysMax) {
      return jsonResponse(400, { error: "invalid_days", message: `days is an integer from 1 to ${advanceDaysMax}` });
    }
    clock.offset_ms += (days as number) * dayMs;
    let changed = 0;
    for (const debit of debits.values()) {
      if (!progress(debit)) continue;
      changed++;
      if (body?.drop_notifications !== true) notify(debit);
    }
    return jsonResponse(200, { now: iso(now()), offset_days: clock.offset_ms / dayMs, debits_changed: changed });
  }

  return async (request) => {
    const { method, path } = request;
    if (method === "POST" && path === "/debits") return submit(request);
    if (method === "GET" && path === "/debits") return jsonResponse(200, { debits: [...debits.values()].map(view) });
    if (method === "GET" && path.startsWith("/debits/")) {
      const debit = debits.get(decodeURIComponent(path.slice("/debits/".length)));
      if (!debit) return jsonResponse(404, { error: "not_found" });
      if (progress(debit)) notify(debit);
      return jsonResponse(200, { debit: view(debit) });
    }
    if (method === "GET" && path === "/_sandbox/clock") return jsonResponse(200, { now: iso(now()), offset_days: clock.offset_ms / dayMs });
    if (method === "POST" && path === "/_sandbox/clock/advance") return advance(request);
    if (method === "POST" && path === "/_sandbox/debits/faults") {
      const lose = parseJsonObject(request.body)?.lose_answers;
      if (!Number.isSafeInteger(lose) || (lose as number) < 0 || (lose as number) > lostAnswersMax) {
        return jsonResponse(400, { error: "invalid_faults", message: `lose_answers is an integer from 0 to ${lostAnswersMax}` });
      }
      answers_to_lose = lose as number;
      return jsonResponse(200, { lose_answers: answers_to_lose });
    }
    const renotify = method === "POST" ? path.match(/^\/_sandbox\/debits\/([^/]{1,128})\/notify$/) : null;
    if (renotify) {
      const debit = debits.get(decodeURIComponent(renotify[1]));
      if (!debit) return jsonResponse(404, { error: "not_found" });
      if (debit.status === "pending") return jsonResponse(409, { error: "nothing_to_notify", message: "the debit is still pending" });
      notify(debit);
      return jsonResponse(202, { notified: true });
    }
    return undefined;
  };
}
