// sandboxbank: a simulated bank that collects transfers for Corridor (Indonesian VAs, Mexican
// CLABEs, Brazilian Pix charges). Its own wire format:
//   POST /collections              {merchant_ref, kind, account, bank, amount, currency, expires_at, amount_type?, usage?} → opens
//                                  (idempotent by merchant_ref; the same account for another ref is 409).
//                                  amount_type "open" (amount null) and usage "multi_use" (expires_at may be
//                                  null) describe a reusable virtual account; default closed, single use.
//   GET  /collections/:reference   one collection by merchant_ref or account, with its transfers
//   GET  /collections              every collection (reconciliation)
//   POST /transfers                {reference, amount, sender?: {name, account, bank?}, drop_notification?} a customer's transfer to the
//                                  account (or merchant_ref); accepted whatever the amount or time, as
//                                  banks do — the merchant's side decides what to do with it.
//                                  drop_notification (sandbox control) loses the notification.
// The platform account (Corridor's own account, paid by the card channels) and its camt.053
// statements: platform-account.ts. Payouts: payouts.ts. Direct debits and the simulated clock: debits.ts.
// Each received transfer is notified to `notify_url` as {event: "transfer.received", ...} with the
// header `x-sbank-signature: ts=<unix>;hmac=<base64 HMAC-SHA256 of "<ts>|<body>">`.
import { createHmac, randomBytes } from "node:crypto";
import { deliverNotification } from "../notifier.ts";
import { createPayoutDesk, type PayoutOptions } from "./payouts.ts";
import { createSandboxDebits } from "./debits.ts";
import { createSandboxClock } from "./clock.ts";
import { createPlatformAccount, type PlatformAccountOptions } from "./platform-account.ts";
import { isObject, jsonResponse, parseJsonObject, type SandboxHandler, type SandboxRequest, type SandboxResponse } from "../types.ts";

export const SBANK_SIGNATURE_HEADER = "x-sbank-signature";
export const DEFAULT_SBANK_SECRET = "sbank_sandbox_notification_secret";

export interface SandboxBankOptions {
  notify_url?: string;
  notification_secret?: string;
  /** Collections kept before the oldest is evicted. */
  capacity?: number;
  /** Payouts (refunds to customers' accounts): see payouts.ts. */
  payouts?: PayoutOptions;
  /** The platform account and its statements: see platform-account.ts. */
  platform_account?: PlatformAccountOptions;
}

interface Transfer {
  transfer_id: string;
  amount: number;
  received_at: string;
  /** Who sent it (the bank knows the ordering account: SPEI, Pix and Indonesian transfers carry it). */
  sender: { name: string; account: string; bank: string | null };
}

/** A plausible ordering account when the test gives none. */
function defaultSender(kind: string): Transfer["sender"] {
  switch (kind) {
    case "mx_clabe":
      return { name: "Sandbox Payer", account: "002180700000000019", bank: null };
    case "br_pix":
      return { name: "Sandbox Payer", account: "payer@pix.example", bank: null };
    default:
      return { name: "Sandbox Payer", account: "8800000042", bank: "bca" };
  }
}

function senderOf(value: unknown, kind: string): Transfer["sender"] {
  if (!isObject(value) || typeof value.name !== "string" || typeof value.account !== "string") return defaultSender(kind);
  return { name: value.name, account: value.account, bank: typeof value.bank === "string" ? value.bank : null };
}

interface Collection {
  collection_id: string;
  merchant_ref: string;
  kind: string;
  account: string;
  bank: string;
  /** null: an open amount (any amount is expected). */
  amount: number | null;
  amount_type: "open" | "closed";
  usage: "single_use" | "multi_use";
  currency: string;
  /** null: never expires. */
  expires_at: string | null;
  created_at: string;
  transfers: Transfer[];
}

export function signSbank(secret: string, body: string, unix_seconds = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac("sha256", secret).update(`${unix_seconds}|${body}`).digest("base64");
  return `ts=${unix_seconds};hmac=${mac}`;
}

const kinds = new Set(["id_virtual_account", "mx_clabe", "br_pix"]);

export function createSandboxBankHandler(options: SandboxBankOptions = {}): SandboxHandler {
  const byRef = new Map<string, Collection>();
  const byAccount = new Map<string, Collection>();
  const capacity = options.capacity ?? 100_000;
  const secret = options.notification_secret ?? DEFAULT_SBANK_SECRET;
  const newId = (prefix: string) => `${prefix}_${randomBytes(10).toString("hex")}`;
  const find = (reference: string) => byRef.get(reference) ?? byAccount.get(reference);
  // One simulated clock: debits settle by it, the platform account books by it.
  const clock = createSandboxClock();
  // Direct debits (SEPA, ACH) and the clock's routes: in debits.ts.
  const debits = createSandboxDebits({ notify_url: options.notify_url, secret, sign: signSbank, signature_header: SBANK_SIGNATURE_HEADER, newId, clock });
  const platformAccount = createPlatformAccount(clock, options.platform_account);

  function view(collection: Collection) {
    const paid = collection.transfers.reduce((sum, transfer) => sum + transfer.amount, 0);
    const expired = collection.expires_at !== null && Date.parse(collection.expires_at) < Date.now();
    const status = collection.amount === null
      ? (expired ? "expired" : "open")
      : paid >= collection.amount ? "paid" : expired ? "expired" : paid > 0 ? "partially_paid" : "open";
    return { ...collection, status, amount_paid: paid };
  }

  function open(request: SandboxRequest): SandboxResponse {
    const body = parseJsonObject(request.body);
    const { merchant_ref, kind, account, bank, amount, currency, expires_at } = body ?? {};
    const amount_type = body?.amount_type ?? "closed";
    const usage = body?.usage ?? "single_use";
    const amountValid = amount_type === "open" ? amount === null || amount === undefined : Number.isSafeInteger(amount) && (amount as number) > 0;
    const expiryValid = typeof expires_at === "string" ? !Number.isNaN(Date.parse(expires_at)) : (expires_at === null || expires_at === undefined) && usage === "multi_use";
    if (typeof merchant_ref !== "string" || !merchant_ref || typeof kind !== "string" || !kinds.has(kind) || typeof account !== "string" || !account ||
      typeof bank !== "string" || (amount_type !== "open" && amount_type !== "closed") || (usage !== "single_use" && usage !== "multi_use") ||
      !amountValid || typeof currency !== "string" || !expiryValid) {
      return jsonResponse(400, {
        error: "invalid_collection",
        message: "merchant_ref, kind, account, bank, amount (positive integer; null when amount_type is open), currency and expires_at (null only for multi_use) are required",
      });
    }
    const existing = byRef.get(merchant_ref);
    if (existing) return jsonResponse(200, { collection: view(existing) });
    if (byAccount.has(account)) return jsonResponse(409, { error: "account_in_use", message: `account ${account} belongs to another collection` });
    if (byRef.size >= capacity) {
      const oldest = byRef.values().next().value!;
      byRef.delete(oldest.merchant_ref);
      byAccount.delete(oldest.account);
    }
    const collection: Collection = {
      collection_id: newId("col"), merchant_ref, kind, account, bank, amount: amount_type === "open" ? null : (amount as number),
      amount_type, usage, currency, expires_at: typeof expires_at === "string" ? expires_at : null,
      created_at: new Date().toISOString(), transfers: [],
    };
    byRef.set(merchant_ref, collection);
    byAccount.set(account, collection);
    return jsonResponse(201, { collection: view(collection) });
  }

  function transfer(request: SandboxRequest): SandboxResponse {
    const body = parseJsonObject(request.body);
    const reference = body?.reference;
    const amount = body?.amount;
    if (typeof reference !== "string" || !Number.isSafeInteger(amount) || (amount as number) <= 0) {
      return jsonResponse(400, { error: "invalid_transfer", message: "reference and amount (positive integer) are required" });
    }
    const collection = find(reference);
    if (!collection) return jsonResponse(404, { error: "unknown_account", reference });
    const received: Transfer = {
      transfer_id: newId("trf"), amount: amount as number, received_at: new Date().toISOString(), sender: senderOf(body?.sender, collection.kind),
    };
    collection.transfers.push(received);
    if (options.notify_url && body?.drop_notification !== true) {
      const payload = JSON.stringify({
        event: "transfer.received", collection_id: collection.collection_id, merchant_ref: collection.merchant_ref,
        transfer_id: received.transfer_id, amount: received.amount, currency: collection.currency, received_at: received.received_at,
      });
      void deliverNotification({ url: options.notify_url, body: payload, signature_header: SBANK_SIGNATURE_HEADER, signature: signSbank(secret, payload) });
    }
    return jsonResponse(201, { transfer: { ...received, collection_id: collection.collection_id } });
  }

  const payouts = createPayoutDesk(options.payouts);

  return async (request) => {
    const { method, path } = request;
    const payoutAnswer = await payouts(request);
    if (payoutAnswer) return payoutAnswer;
    const debitAnswer = await debits(request);
    if (debitAnswer) return debitAnswer;
    const accountAnswer = await platformAccount(request);
    if (accountAnswer) return accountAnswer;
    if (method === "POST" && path === "/collections") return open(request);
    if (method === "GET" && path === "/collections") return jsonResponse(200, { collections: [...byRef.values()].map(view) });
    if (method === "GET" && path.startsWith("/collections/")) {
      const collection = find(decodeURIComponent(path.slice("/collections/".length)));
      return collection ? jsonResponse(200, { collection: view(collection) }) : jsonResponse(404, { error: "not_found" });
    }
    if (method === "POST" && path === "/transfers") return transfer(request);
    return jsonResponse(404, { error: "not_found", message: `no route for ${method} ${path}` });
  };
}
