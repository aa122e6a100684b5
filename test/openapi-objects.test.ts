// The response objects in GET /openapi.json (src/api/objects.ts) against real answers: objects of
// every kind are made through the HTTP API, and each answer is validated with Ajv against the schema
// the document gives for that operation and status, every object closed (additionalProperties:
// false), so a field the view sends but the document does not describe fails here.
import assert from "node:assert/strict";
import { before, describe, it } from "node:test";
import { Ajv2020, type ValidateFunction } from "ajv/dist/2020.js";
import { operationAnswers } from "../src/api/objects.ts";
import { call, cardPayment, cards, eventually, pay, useStack, waitForPayment, type ApiResponse } from "./helpers.ts";

const setup = useStack();
const documentId = "https://corridor.invalid/openapi.json";

type Json = any;

/** A copy of the schemas where every object with listed properties admits no other property. */
function closed(schema: Json): Json {
  if (Array.isArray(schema)) return schema.map(closed);
  if (schema === null || typeof schema !== "object") return schema;
  const copy: Json = Object.fromEntries(Object.entries(schema).map(([key, value]) => [key, key === "properties" ? Object.fromEntries(Object.entries(value as Json).map(([name, property]) => [name, closed(property)])) : closed(value)]));
  if (copy.properties && copy.additionalProperties === undefined && copy.patternProperties === undefined) copy.additionalProperties = false;
  return copy;
}

/** Every `$ref` string in a JSON value, with where it is. */
function refsIn(value: Json, at = "#", out: { ref: string; at: string }[] = []): { ref: string; at: string }[] {
  if (Array.isArray(value)) value.forEach((item, index) => refsIn(item, `${at}/${index}`, out));
  else if (value !== null && typeof value === "object") {
    for (const [key, child] of Object.entries(value)) {
      if (key === "$ref" && typeof child === "string") out.push({ ref: child, at });
      else refsIn(child, `${at}/${key}`, out);
    }
  }
  return out;
}

function resolvePointer(document: Json, ref: string): Json {
  assert.ok(ref.startsWith("#/"), `${ref} is a local reference`);
  return ref.slice(2).split("/").map((part) => part.replace(/~1/g, "/").replace(/~0/g, "~")).reduce((node, part) => node?.[part], document);
}

describe("OpenAPI response objects", () => {
  let document: Json;
  let ajv: Ajv2020;
  const validators = new Map<string, ValidateFunction>();
  /** Operations whose answers were validated here ("METHOD /path status"). */
  const validated = new Set<string>();

  before(async () => {
    const response = await call(setup.stack.url, "GET", "/openapi.json");
    assert.equal(response.status, 200, response.text);
    document = response.body;
    ajv = new Ajv2020({ allErrors: true, strict: true, strictTypes: false });
    ajv.addVocabulary(["components"]);
    ajv.addSchema({ $id: documentId, components: { schemas: closed(document.components.schemas) } });
  });

  const api = (method: string, path: string, body?: unknown, key = setup.merchant.secret) =>
    call(setup.stack.url, method, path, { key, ...(body === undefined ? {} : { body }) });

  /** Asserts the answer has the expected status and matches what the document says `METHOD template` answers with it. */
  function documented(response: ApiResponse, method: string, template: string, status: number): Json {
    assert.equal(response.status, status, `${method} ${template}: ${response.text}`);
    const operation = document.paths[template]?.[method.toLowerCase()];
    assert.ok(operation, `${method} ${template} is in the document`);
    const schema = operation.responses?.[String(status)]?.content?.["application/json"]?.schema;
    assert.ok(schema?.$ref, `${method} ${template} documents its ${status} answer`);
    let validate = validators.get(schema.$ref);
    if (!validate) {
      validate = ajv.compile({ $ref: `${documentId}${schema.$ref}` });
      validators.set(schema.$ref, validate);
    }
    assert.ok(validate(response.body), `${method} ${template} ${status} against ${schema.$ref}: ${ajv.errorsText(validate.errors, { separator: "\n" })}\n${response.text}`);
    validated.add(`${method} ${template} ${status}`);
    return response.body;
  }

  it("is a 3.1 document whose every $ref resolves, and every operation documents a success answer", () => {
    assert.match(document.openapi, /^3\.1\.\d+$/);
    for (const { ref, at } of refsIn(document)) assert.ok(resolvePointer(document, ref) !== undefined, `${ref} at ${at} resolves`);
    const operations: string[] = [];
    for (const [path, item] of Object.entries<Json>(document.paths)) {
      for (const [method, operation] of Object.entries<Json>(item)) {
        const key = `${method.toUpperCase()} ${path}`;
        operations.push(key);
        const successes = Object.keys(operation.responses ?? {}).filter((status) => /^2\d\d$/.test(status));
        assert.equal(successes.length, 1, `${key} has one success answer: ${successes}`);
        const content = operation.responses[successes[0]].content;
        assert.ok(content && Object.keys(content).length === 1, `${key} documents the success body`);
        for (const [status, answer] of Object.entries<Json>(operation.responses)) {
          assert.equal(typeof answer.description, "string", `${key} ${status} has a description`);
          if (/^[45]/.test(status)) assert.equal(answer.content["application/json"].schema.$ref, "#/components/schemas/Error", `${key} ${status} is an Error`);
        }
        assert.ok(operation.responses["400"], `${key} documents 400`);
      }
    }
    assert.ok(operations.length >= 40, `operations: ${operations.length}`);
    assert.deepEqual(Object.keys(operationAnswers).filter((key) => !operations.includes(key)), [], "no mapping for an operation that does not exist");
    assert.deepEqual(document.paths["/v1/payments/{id}/return"].get.security, [], "the return page is public");
    assert.ok(document.paths["/v1/payments"].post.responses["402"], "a declined payment is a 402");
    assert.equal(document.paths["/v1/webhook_endpoints"].post.responses["201"].content["application/json"].schema.$ref, "#/components/schemas/WebhookEndpointWithSecret");
    assert.equal(document.paths["/v1/direct_debit_batches/{date}/pain008"].get.responses["200"].content["application/xml"].schema.type, "string");
  });

  it("describes every property of every object, and the schemas compile", () => {
    const undescribed: string[] = [];
    const walk = (schema: Json, at: string) => {
      if (Array.isArray(schema)) return schema.forEach((item, index) => walk(item, `${at}[${index}]`));
      if (schema === null || typeof schema !== "object") return;
      for (const [name, property] of Object.entries<Json>(schema.properties ?? {})) {
        if (typeof property.description !== "string" || property.description.length === 0) undescribed.push(`${at}.${name}`);
      }
      for (const [key, child] of Object.entries<Json>(schema)) walk(key === "properties" ? Object.values(child) : child, `${at}.${key}`);
    };
    for (const [name, schema] of Object.entries<Json>(document.components.schemas)) {
      if (name === "Error" || schema.properties || schema.anyOf) walk(schema, name);
      assert.equal(typeof schema.description, "string", `${name} is described`);
      ajv.compile({ $ref: `${documentId}#/components/schemas/${name}` });
    }
    assert.deepEqual(undescribed, []);
    const payment = document.components.schemas.Payment.properties;
    assert.equal(payment.amount.type, "integer", "minor units are integers");
    assert.ok(payment.status.enum.includes("requires_action"), "statuses are an enum");
    const families = document.components.schemas.PaymentMethodDetails.anyOf.map((variant: Json) => variant.properties.type.const);
    assert.deepEqual(families, ["card", "bank_transfer", "wallet", "bnpl", "direct_debit"]);
    const actions = document.components.schemas.NextAction.anyOf.map((variant: Json) => variant.properties.type.const);
    assert.deepEqual(actions, ["redirect_to_url", "display_bank_transfer_instructions", "display_qr_code"]);
  });

  it("card payments: approved, declined (402 with the payment), 3-D Secure, manual capture and cancel, the return page", async () => {
    const approved = documented(await pay(setup.stack, setup.merchant, cards.visa), "POST", "/v1/payments", 200);
    assert.equal(approved.status, "succeeded");
    assert.equal(approved.payment_method_details.type, "card");
    const declined = documented(await pay(setup.stack, setup.merchant, cards.doNotHonor), "POST", "/v1/payments", 402);
    assert.equal(declined.error.payment.status, "failed");
    assert.equal(declined.error.payment.last_error.type, "card_error");
    const threeDs = documented(await pay(setup.stack, setup.merchant, cards.threeDs), "POST", "/v1/payments", 200);
    assert.equal(threeDs.next_action?.type, "redirect_to_url", JSON.stringify(threeDs));
    documented(await api("GET", `/v1/payments/${threeDs.id}`), "GET", "/v1/payments/{id}", 200);
    documented(await call(setup.stack.url, "GET", `/v1/payments/${threeDs.id}/return`), "GET", "/v1/payments/{id}/return", 200);

    const manual = documented(await pay(setup.stack, setup.merchant, cards.visa, { capture_method: "manual" }), "POST", "/v1/payments", 200);
    assert.equal(manual.status, "requires_capture");
    documented(await api("POST", `/v1/payments/${manual.id}/capture`, { amount_to_capture: 1000 }), "POST", "/v1/payments/{id}/capture", 200);
    const toCancel = documented(await pay(setup.stack, setup.merchant, cards.visa, { capture_method: "manual" }), "POST", "/v1/payments", 200);
    documented(await api("POST", `/v1/payments/${toCancel.id}/cancel`, {}), "POST", "/v1/payments/{id}/cancel", 200);
    const unconfirmed = documented(await api("POST", "/v1/payments", { amount: 1234, currency: "usd" }), "POST", "/v1/payments", 200);
    assert.equal(unconfirmed.payment_method_details, null);
    const confirmed = await api("POST", `/v1/payments/${unconfirmed.id}/confirm`, {
      payment_method_data: { type: "card", card: { number: cards.visa, exp_month: 12, exp_year: 2030, cvc: "123" } },
    });
    documented(confirmed, "POST", "/v1/payments/{id}/confirm", 200);
  });

  it("a card refund, a list of payments and of refunds", async () => {
    const payment = (await pay(setup.stack, setup.merchant, cards.visa, { amount: 4000 })).body;
    const refund = documented(await api("POST", "/v1/refunds", { payment: payment.id, amount: 1500, reason: "requested_by_customer" }), "POST", "/v1/refunds", 200);
    assert.equal(refund.kind, "refund");
    documented(await api("GET", `/v1/refunds/${refund.id}`), "GET", "/v1/refunds/{id}", 200);
    documented(await api("GET", "/v1/refunds?limit=100"), "GET", "/v1/refunds", 200);
    const list = documented(await api("GET", "/v1/payments?limit=100"), "GET", "/v1/payments", 200);
    assert.ok(list.data.length >= 2);
  });

  it("a bank transfer (ID): instructions, paid by the sandbox bank, refunded to a bank account (destination)", async () => {
    const amount = 15_000_000;
    const payment = documented(await api("POST", "/v1/payments", {
      amount, currency: "idr", confirm: true, payment_method_data: { type: "bank_transfer", bank_transfer: { country: "ID" } },
    }), "POST", "/v1/payments", 200);
    assert.equal(payment.next_action.type, "display_bank_transfer_instructions");
    await bankTransfer(payment.next_action.display_bank_transfer_instructions.account_number, amount);
    await waitForPayment(setup.stack, setup.merchant, payment.id, (p) => p.status === "succeeded", "the transfer to be taken");
    documented(await api("GET", `/v1/payments/${payment.id}`), "GET", "/v1/payments/{id}", 200);
    const refund = documented(await api("POST", "/v1/refunds", {
      payment: payment.id, amount: 1_000_000,
      destination: { type: "bank_account", account_holder_name: "Budi Santoso", country: "ID", account: "8800123456", bank: "bni" },
    }), "POST", "/v1/refunds", 200);
    assert.equal(refund.destination.account_last4, "3456");
  });

  it("wallets: a redirect (gcash), a QR code (shopeepay), an app push (ovo)", async () => {
    const wallet = (provider: string, currency: string, amount: number, details: Record<string, unknown> = {}) =>
      api("POST", "/v1/payments", { amount, currency, confirm: true, payment_method_data: { type: "wallet", wallet: { provider, ...details } } });
    const gcash = documented(await wallet("gcash", "php", 125_050), "POST", "/v1/payments", 200);
    assert.equal(gcash.next_action?.type, "redirect_to_url", JSON.stringify(gcash));
    const shopeepay = documented(await wallet("shopeepay", "idr", 7_500_000), "POST", "/v1/payments", 200);
    assert.equal(shopeepay.next_action?.type, "display_qr_code", JSON.stringify(shopeepay));
    const ovo = documented(await wallet("ovo", "idr", 5_000_000, { phone: "+6281234567890" }), "POST", "/v1/payments", 200);
    assert.equal(ovo.payment_method_details.wallet.flow, "app_push");
  });

  it("BNPL: the checkout and its installment plan", async () => {
    const payment = documented(await api("POST", "/v1/payments", {
      amount: 10_001, currency: "usd", confirm: true, return_url: "https://shop.example/back", payment_method_data: { type: "bnpl", bnpl: { provider: "sandbox" } },
    }), "POST", "/v1/payments", 200);
    assert.equal(payment.payment_method_details.type, "bnpl");
    assert.equal(payment.payment_method_details.bnpl.plan.installments.length, 4);
    documented(await api("GET", `/v1/payments/${payment.id}`), "GET", "/v1/payments/{id}", 200);
    const approved = await fetch(`${setup.stack.sandboxes.bnpl.url}/_sandbox/checkouts/${payment.attempts[0].id}/approve`, { method: "POST" });
    assert.equal(approved.status, 200, await approved.text());
    await waitForPayment(setup.stack, setup.merchant, payment.id, (p) => p.status === "succeeded", "the provider's approval");
    const paid = documented(await api("GET", `/v1/payments/${payment.id}`), "GET", "/v1/payments/{id}", 200);
    assert.equal(paid.payment_method_details.bnpl.plan.source, "provider", "the provider's own plan");
    documented(await api("POST", "/v1/refunds", { payment: payment.id, amount: 2_000 }), "POST", "/v1/refunds", 200);
    await eventually(async () => {
      const current = documented(await api("GET", `/v1/payments/${payment.id}`), "GET", "/v1/payments/{id}", 200);
      return current.payment_method_details.bnpl.plan.amount_refunded > 0;
    }, 10_000, "the plan re-read after the refund");
  });

  it("direct debit: SEPA and ACH mandates, a debit under each, settled; list, retrieve, revoke", async () => {
    const sepa = documented(await api("POST", "/v1/mandates", {
      type: "sepa_debit", sepa_debit: { iban: "DE89370400440532013000", account_holder_name: "Test" },
    }), "POST", "/v1/mandates", 200);
    const achMandate = documented(await api("POST", "/v1/mandates", {
      type: "ach_debit", ach_debit: { routing_number: "110000000", account_number: "000123456789", account_type: "checking", account_holder_name: "Test" },
    }), "POST", "/v1/mandates", 200);
    const sepaDebit = documented(await api("POST", "/v1/payments", { amount: 2500, currency: "eur", mandate: sepa.id, confirm: true }), "POST", "/v1/payments", 200);
    assert.equal(sepaDebit.payment_method_details.type, "direct_debit");
    const achDebit = documented(await api("POST", "/v1/payments", { amount: 2500, currency: "usd", mandate: achMandate.id, confirm: true }), "POST", "/v1/payments", 200);
    assert.equal(achDebit.payment_method_details.direct_debit.scheme, "ach");
    const returned = documented(await api("POST", "/v1/mandates", {
      type: "sepa_debit", sepa_debit: { iban: "DE24370400440000000404", account_holder_name: "Test" },
    }), "POST", "/v1/mandates", 200);
    const returnedDebit = documented(await api("POST", "/v1/payments", { amount: 2500, currency: "eur", mandate: returned.id, confirm: true }), "POST", "/v1/payments", 200);
    const advanced = await fetch(`${setup.stack.sandboxes.sandboxbank.url}/_sandbox/clock/advance`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ days: 4, drop_notifications: false }),
    });
    assert.equal(advanced.status, 200, await advanced.text());
    for (const debit of [sepaDebit, achDebit]) {
      await waitForPayment(setup.stack, setup.merchant, debit.id, (p) => p.status === "succeeded", "the debit to settle");
      const settled = documented(await api("GET", `/v1/payments/${debit.id}`), "GET", "/v1/payments/{id}", 200);
      assert.equal(typeof settled.payment_method_details.direct_debit.settled_at, "number");
    }
    await waitForPayment(setup.stack, setup.merchant, returnedDebit.id, (p) => p.status === "failed", "the debit to come back");
    const failed = documented(await api("GET", `/v1/payments/${returnedDebit.id}`), "GET", "/v1/payments/{id}", 200);
    assert.equal(failed.payment_method_details.direct_debit.return?.reason_code, "AM04", JSON.stringify(failed));
    assert.equal(failed.last_error.type, "bank_error");
    documented(await api("GET", "/v1/mandates"), "GET", "/v1/mandates", 200);
    documented(await api("GET", `/v1/mandates/${sepa.id}`), "GET", "/v1/mandates/{id}", 200);
    const revoked = documented(await api("POST", `/v1/mandates/${achMandate.id}/revoke`), "POST", "/v1/mandates/{id}/revoke", 200);
    assert.equal(revoked.status, "revoked");
  });

  it("a virtual account: created, paid into (a payment of its own), listed, retrieved, deactivated", async () => {
    const account = documented(await api("POST", "/v1/virtual_accounts", { country: "ID", customer: "cus_1" }), "POST", "/v1/virtual_accounts", 200);
    const opened = await eventually(async () => {
      const current = (await api("GET", `/v1/virtual_accounts/${account.id}`)).body;
      return current.account_number ? current : undefined;
    }, 10_000, "the account number");
    await bankTransfer(opened.account_number, 2_000_000);
    const payment = await eventually(async () => {
      const list = (await api("GET", "/v1/payments?limit=100")).body.data as Json[];
      return list.find((candidate) => candidate.payment_method_details?.bank_transfer?.virtual_account === account.id && candidate.status === "succeeded");
    }, 10_000, "the payment made into the account");
    documented(await api("GET", `/v1/payments/${payment.id}`), "GET", "/v1/payments/{id}", 200);
    documented(await api("GET", "/v1/virtual_accounts"), "GET", "/v1/virtual_accounts", 200);
    documented(await api("GET", `/v1/virtual_accounts/${account.id}`), "GET", "/v1/virtual_accounts/{id}", 200);
    const deactivated = documented(await api("POST", `/v1/virtual_accounts/${account.id}/deactivate`), "POST", "/v1/virtual_accounts/{id}/deactivate", 200);
    assert.equal(deactivated.status, "inactive");
  });

  it("a dispute: listed, retrieved, evidence saved", async () => {
    const payment = (await pay(setup.stack, setup.merchant, cards.visa, { amount: 5000 })).body;
    const chargeback = await call(setup.stack.sandboxes.globalpay.url, "POST", "/_sandbox/chargebacks", { body: { merchant_reference: payment.attempts[0].id, reason_code: "10.4" } });
    assert.equal(chargeback.status, 201, chargeback.text);
    const dispute = await eventually(async () => {
      const list = await api("GET", `/v1/disputes?payment=${payment.id}`);
      return list.body.data.length > 0 ? documented(list, "GET", "/v1/disputes", 200).data[0] : undefined;
    }, 10_000, "the dispute");
    documented(await api("GET", `/v1/disputes/${dispute.id}`), "GET", "/v1/disputes/{id}", 200);
    const saved = documented(await api("POST", `/v1/disputes/${dispute.id}/evidence`, { product_description: "A book", customer_name: "Ann" }), "POST", "/v1/disputes/{id}/evidence", 200);
    assert.equal(saved.evidence.product_description, "A book");
  });

  it("events (every kind made above), balance, webhook endpoints", async () => {
    const events = documented(await api("GET", "/v1/events?limit=100"), "GET", "/v1/events", 200);
    const kinds = new Set(events.data.map((event: Json) => event.data.object.object));
    for (const kind of ["payment", "refund", "dispute", "mandate", "virtual_account"]) assert.ok(kinds.has(kind), `an event about a ${kind}: ${[...kinds]}`);
    for (const type of ["dispute.created", "mandate.created"]) assert.ok(events.data.some((event: Json) => event.type === type), type);
    let after: string | undefined = events.has_more ? events.data.at(-1).id : undefined;
    while (after) {
      const page = documented(await api("GET", `/v1/events?limit=100&starting_after=${after}`), "GET", "/v1/events", 200);
      after = page.has_more ? page.data.at(-1).id : undefined;
    }
    documented(await api("GET", `/v1/events/${events.data[0].id}`), "GET", "/v1/events/{id}", 200);
    const balance = documented(await api("GET", "/v1/balance"), "GET", "/v1/balance", 200);
    assert.ok(balance.pending.length > 0);

    const endpoint = documented(await api("POST", "/v1/webhook_endpoints", { url: "https://shop.example/hooks", enabled_events: ["*"] }), "POST", "/v1/webhook_endpoints", 201);
    documented(await api("GET", "/v1/webhook_endpoints"), "GET", "/v1/webhook_endpoints", 200);
    documented(await api("GET", `/v1/webhook_endpoints/${endpoint.id}`), "GET", "/v1/webhook_endpoints/{id}", 200);
    documented(await api("DELETE", `/v1/webhook_endpoints/${endpoint.id}`), "DELETE", "/v1/webhook_endpoints/{id}", 200);
  });

  it("routing, metrics and admin answers", async () => {
    documented(await api("GET", "/v1/routing/config"), "GET", "/v1/routing/config", 200);
    documented(await api("PUT", "/v1/routing/config", {
      rules: [{ name: "EUR to localacq", conditions: { currencies: ["EUR"], amount_max: 100_000 }, channels: ["localacq"] }],
      default_channels: ["globalpay", "localacq"],
      strategy: { type: "rules" },
    }), "PUT", "/v1/routing/config", 200);
    documented(await api("POST", "/v1/routing/simulate", { amount: 5000, currency: "eur", card: { number: cards.visa } }), "POST", "/v1/routing/simulate", 200);
    documented(await api("GET", "/v1/metrics/channels?group_by=channel,outcome"), "GET", "/v1/metrics/channels", 200);
    const admin = setup.stack.admin_key;
    documented(await api("GET", "/v1/admin/metrics/channels", undefined, admin), "GET", "/v1/admin/metrics/channels", 200);
    documented(await api("GET", "/v1/admin/ledger/verify", undefined, admin), "GET", "/v1/admin/ledger/verify", 200);
    documented(await api("POST", "/v1/admin/merchants", { name: "Documented shop", country: "US", default_currency: "usd" }, admin), "POST", "/v1/admin/merchants", 201);
    documented(await api("POST", "/v1/admin/vault/rotate", {}, admin), "POST", "/v1/admin/vault/rotate", 200);
    documented(await api("POST", "/v1/admin/bin_ranges", { ranges: [{ prefix: "777777", country: "NZ", funding: "debit" }] }, admin), "POST", "/v1/admin/bin_ranges", 200);
  });

  it("the settlement back office: files, batches, runs, exceptions, pricing, margins", async () => {
    const admin = setup.stack.admin_key;
    documented(await api("PUT", `/v1/admin/merchants/${setup.merchant.id}/pricing`, { model: "interchange_plus", markup_bps: 40, fixed_amount: 5, currency: "usd" }, admin), "PUT", "/v1/admin/merchants/{id}/pricing", 200);
    documented(await api("GET", `/v1/admin/merchants/${setup.merchant.id}/pricing`, undefined, admin), "GET", "/v1/admin/merchants/{id}/pricing", 200);
    const paid = await api("POST", "/v1/payments", cardPayment(cards.visa, { amount: 3_100 }));
    assert.equal(paid.status, 200, paid.text);
    const close = await fetch(`${setup.stack.sandboxes.globalpay.url}/_sandbox/settlement/close`, { method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ faults: { change_amount: { [paid.body.attempts.at(-1).id]: 700 } } }) });
    assert.equal(close.status, 200, await close.text());
    const fetched = documented(await api("POST", "/v1/admin/settlement_files/fetch", undefined, admin), "POST", "/v1/admin/settlement_files/fetch", 200);
    const file = fetched.files[0];
    documented(await api("GET", `/v1/admin/settlement_files/${file.id}`, undefined, admin), "GET", "/v1/admin/settlement_files/{id}", 200);
    documented(await api("GET", "/v1/admin/settlement_files", undefined, admin), "GET", "/v1/admin/settlement_files", 200);
    documented(await api("POST", "/v1/admin/settlement_files", { channel: "globalpay", filename: "bad.csv", content: "not,a,report\n" }, admin), "POST", "/v1/admin/settlement_files", 201);
    documented(await api("GET", "/v1/admin/settlement_batches?channel=globalpay", undefined, admin), "GET", "/v1/admin/settlement_batches", 200);
    documented(await api("POST", "/v1/admin/reconciliation/runs", { channel: "globalpay" }, admin), "POST", "/v1/admin/reconciliation/runs", 201);
    const list = documented(await api("GET", "/v1/admin/reconciliation/exceptions?status=open", undefined, admin), "GET", "/v1/admin/reconciliation/exceptions", 200);
    const exception = list.data.find((entry: Json) => entry.type === "amount_mismatch");
    assert.ok(exception, JSON.stringify(list));
    documented(await api("GET", `/v1/admin/reconciliation/exceptions/${exception.id}`, undefined, admin), "GET", "/v1/admin/reconciliation/exceptions/{id}", 200);
    documented(await api("POST", `/v1/admin/reconciliation/exceptions/${exception.id}/resolve`, { action: "write_off", note: "checked" }, admin), "POST", "/v1/admin/reconciliation/exceptions/{id}/resolve", 200);
    documented(await api("GET", "/v1/admin/settlement/margins", undefined, admin), "GET", "/v1/admin/settlement/margins", 200);
  });

  it("error answers: 400, 401, 404", async () => {
    documented(await api("POST", "/v1/payments", { currency: "usd" }), "POST", "/v1/payments", 400);
    documented(await api("GET", "/v1/payments", undefined, "sk_test_not_a_key"), "GET", "/v1/payments", 401);
    documented(await api("GET", "/v1/payments/pay_missing"), "GET", "/v1/payments/{id}", 404);
    documented(await call(setup.stack.url, "POST", "/v1/channels/nosuchchannel/notifications", { body: {} }), "POST", "/v1/channels/{channel}/notifications", 404);
  });

  it("validated an answer of every object the document names for a success", () => {
    const objectsSeen = new Set<string>();
    for (const key of validated) {
      const [method, template, status] = key.split(" ");
      if (status.startsWith("2")) objectsSeen.add(document.paths[template][method.toLowerCase()].responses[status].content["application/json"].schema.$ref);
    }
    const unchecked = ["NotificationReceipt"]; // {received: true}, answered only to a channel's signed notification
    const expected = new Set(Object.values(operationAnswers).flatMap((answer) => (answer.object && !unchecked.includes(answer.object) ? [`#/components/schemas/${answer.object}`] : [])));
    assert.deepEqual([...expected].filter((ref) => !objectsSeen.has(ref)), []);
  });

  /** A customer's transfer at the sandbox bank to an account number (a payment's or a virtual account's). */
  async function bankTransfer(reference: string, amount: number): Promise<void> {
    const response = await fetch(`${setup.stack.sandboxes.sandboxbank.url}/transfers`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ reference, amount }),
    });
    assert.equal(response.status, 201, await response.text());
  }
});
