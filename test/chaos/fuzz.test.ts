// Property-based fuzzing of every operation in GET /openapi.json. For each path × method, fast-check
// generates batches of requests: bodies and query strings derived from the operation's schema (with
// real values where they matter: the caller's own ids, test cards, loopback webhook URLs), then
// mutated (boundary and wrong-typed values, missing and extra fields, huge strings, deep nesting,
// unicode incl. lone surrogates, RTL and NUL, overflowing amounts, unknown currencies, bad JSON, wrong
// content types, oversized bodies and headers, odd idempotency keys, wrong or foreign keys, path ids
// of the caller, of another merchant, or bogus).
//
// Must hold: never a 5xx; a rejected request (4xx other than a card decline) writes nothing — a batch
// made only of rejected requests leaves payments, refunds, events, webhook endpoints and the ledger
// totals exactly as they were, and in a batch with accepted requests every new or changed object
// belongs to one of them; another merchant's objects never change; every 400 has error.type, code
// and message, and error.param when a schema check on a body field failed.
//
// CHAOS_FUZZ_RUNS: batches of mutated requests per operation (default 40). CHAOS_SEED: the fast-check seed (printed).
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import fc from "fast-check";
import { backend, call, cardPayment, cards, createMerchant, startStack, type ApiResponse, type Merchant, type Stack } from "../helpers.ts";

const runs = Number(process.env.CHAOS_FUZZ_RUNS ?? 40);
const seed = Number(process.env.CHAOS_SEED ?? 20240611);
const batchMax = 12;
const year = new Date().getUTCFullYear();

type Json = unknown;
type Schema = Record<string, any>;

interface Operation {
  method: string;
  path: string;
  body?: Schema;
  query: { name: string; schema: Schema; required: boolean }[];
  pathParams: string[];
}

type Auth = "own" | "none" | "bogus" | "publishable" | "victim" | "admin" | "malformed";

interface FuzzRequest {
  path: string;
  query: string;
  auth: Auth;
  body: { kind: "none" } | { kind: "json"; value: Json } | { kind: "raw"; text: string };
  content_type?: string;
  idempotency_key?: string;
  extra_headers: Record<string, string>;
  /** The body field a mutation targeted ("" for the whole body), if any. */
  mutated?: string;
  label: string;
}

interface Pools {
  payments: string[];
  refunds: string[];
  events: string[];
  endpoints: string[];
  victim: string[];
  captured: string[];
  mandates: string[];
  virtual_accounts: string[];
}

// ---------------------------------------------------------------------------------------------
// Values.

const nastyStrings = [
  "", " ", "0", "-1", "1e3", "NaN", "Infinity", "null", "true", "[]", "{}", "\u0000", "a\u0000b", "\ud800", "\udfff", "x\udc00y",
  "\u202eevil\u202c", "\u200f\u05e9\u05dc\u05d5\u05dd", "مرحبا", "😀👩‍👩‍👧", "\ufeff", "\uffff", "%00", "%ZZ", "../../etc/passwd", "'; DROP TABLE payments;--",
  "${jndi:ldap://x}", "<script>alert(1)</script>", "usd", "USD", "XXX", "xyz", "usd\u0000", "__proto__", "constructor", "\r\nX-Injected: 1",
  "javascript:alert(1)", "http://169.254.169.254/latest/meta-data", "file:///etc/passwd", "pay_", "pay_0", "pay_" + "z".repeat(60),
];

const nastyNumbers = [
  0, -0, -1, 1, 1.5, 0.1, 2 ** 31, 2 ** 32, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e308, -1e308, Number.MIN_VALUE, Number.MAX_SAFE_INTEGER,
  99_999_999_999, 100_000_000_000, 4242424242424242, -2147483649, 13, 2099, 1999, 2101,
];

function nest(depth: number, array: boolean): Json {
  let value: Json = 1;
  for (let i = 0; i < depth; i++) value = array ? [value] : { a: value };
  return value;
}

const nastyValue: fc.Arbitrary<Json> = fc.oneof(
  { weight: 4, arbitrary: fc.constantFrom(...nastyStrings) },
  { weight: 4, arbitrary: fc.constantFrom(...nastyNumbers) },
  { weight: 2, arbitrary: fc.constantFrom<Json>(null, true, false, [], {}, [1, "a"], { nested: { deeper: true } }) },
  { weight: 2, arbitrary: fc.string({ unit: "binary", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.string({ unit: "grapheme", maxLength: 40 }) },
  { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 70_000 }).map((n) => "x".repeat(n)) },
  { weight: 1, arbitrary: fc.tuple(fc.integer({ min: 10, max: 3_000 }), fc.boolean()).map(([depth, array]) => nest(depth, array)) },
  { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 3 }) },
  { weight: 1, arbitrary: fc.double() },
);

const loopbackUrl = fc.tuple(fc.constantFrom("http", "https"), fc.constantFrom("/hooks", "/x?y=1", "/\u00e9", "/" + "a".repeat(100)))
  .map(([scheme, path]) => `${scheme}://127.0.0.1:9${path}`);

/** Values that matter for the domain, by field name; everything else follows the schema. */
function domainValue(name: string, pools: Pools): fc.Arbitrary<Json> | undefined {
  switch (name) {
    case "number":
      return fc.constantFrom(cards.visa, cards.mastercard, cards.doNotHonor, cards.insufficientFunds, cards.processingErrorFirst, "4242 4242 4242 4242", "5555-5555-5555-4444", cards.threeDs);
    case "exp_year":
      return fc.integer({ min: year + 1, max: 2100 });
    case "currency":
    case "default_currency":
      return fc.constantFrom("usd", "USD", "eur", "gbp", "jpy", "bhd");
    case "amount":
    case "amount_to_capture":
      return fc.integer({ min: 1, max: 5_000 });
    case "payment":
      return fc.constantFrom(...pools.captured, ...pools.payments.slice(0, 3));
    case "url":
    case "return_url":
      return loopbackUrl;
    case "enabled_events":
      return fc.constantFrom(["*"], ["payment.succeeded"], ["payment.created", "refund.succeeded"]);
    case "channels":
    case "default_channels":
      return fc.shuffledSubarray(["globalpay", "localacq"], { minLength: 1 });
    case "country":
      return fc.constantFrom("US", "GB", "FR", "BR", "IN");
    case "prefix":
      return fc.constantFrom("411111", "555555", "400000", "3782");
    case "cvc":
      return fc.constantFrom("123", "4321");
    case "ranges":
      return undefined;
    default:
      return undefined;
  }
}

/** A valid-looking value for a JSON schema (the subset TypeBox emits). */
function fromSchema(schema: Schema, name: string, pools: Pools, depth = 0): fc.Arbitrary<Json> {
  const domain = domainValue(name, pools);
  if (domain) return domain;
  if (schema.anyOf) return fc.oneof(...schema.anyOf.map((option: Schema) => fromSchema(option, name, pools, depth + 1)));
  if (schema.enum) return fc.constantFrom(...schema.enum);
  if (schema.const !== undefined) return fc.constant(schema.const);
  switch (schema.type) {
    case "null":
      return fc.constant(null);
    case "boolean":
      return fc.boolean();
    case "integer": {
      const min = schema.minimum ?? -1_000;
      const max = Math.min(schema.maximum ?? 1_000_000, min + 10_000_000);
      return fc.oneof(fc.integer({ min, max }), fc.constantFrom(min, schema.maximum ?? max));
    }
    case "number":
      return fc.double({ min: schema.minimum ?? -1e6, max: schema.maximum ?? 1e6, noNaN: true });
    case "string": {
      if (schema.format === "uri") return loopbackUrl;
      if (schema.pattern) {
        const maxLength = Math.min(schema.maxLength ?? 64, 64);
        return fc.stringMatching(new RegExp(schema.pattern)).filter((value) => value.length <= maxLength && value.length >= (schema.minLength ?? 0));
      }
      return fc.string({ minLength: schema.minLength ?? 0, maxLength: Math.min(schema.maxLength ?? 30, 30) });
    }
    case "array": {
      const items = fromSchema(schema.items ?? {}, name, pools, depth + 1);
      const constraints = { minLength: schema.minItems ?? 0, maxLength: Math.max(schema.minItems ?? 0, Math.min(schema.maxItems ?? 3, 3)) };
      return schema.uniqueItems ? fc.uniqueArray(items, { ...constraints, selector: (value) => JSON.stringify(value) }) : fc.array(items, constraints);
    }
    case "object": {
      if (schema.patternProperties || (schema.additionalProperties && typeof schema.additionalProperties === "object")) {
        const valueSchema = schema.additionalProperties && typeof schema.additionalProperties === "object" ? schema.additionalProperties : Object.values(schema.patternProperties)[0];
        const keyMax = Math.min(schema.propertyNames?.maxLength ?? 20, 20);
        return fc.dictionary(fc.string({ minLength: Math.max(schema.propertyNames?.minLength ?? 1, 1), maxLength: keyMax }), fromSchema(valueSchema as Schema, "", pools, depth + 1), { maxKeys: 3 });
      }
      const properties: Record<string, Schema> = schema.properties ?? {};
      const required: string[] = schema.required ?? [];
      const model: Record<string, fc.Arbitrary<Json>> = {};
      for (const [key, property] of Object.entries(properties)) model[key] = fromSchema(property, key, pools, depth + 1);
      return fc.record(model, { requiredKeys: required });
    }
    default:
      return fc.jsonValue({ maxDepth: 2 });
  }
}

// ---------------------------------------------------------------------------------------------
// Mutations of a valid body: where (a path into the body) and what.

function pathsOf(value: Json, prefix: string[] = [], out: string[][] = []): string[][] {
  if (value && typeof value === "object" && !Array.isArray(value)) {
    for (const [key, child] of Object.entries(value)) {
      out.push([...prefix, key]);
      pathsOf(child, [...prefix, key], out);
    }
  }
  return out;
}

function clone(value: Json): any {
  return value === undefined ? undefined : structuredClone(value);
}

function setAt(root: any, path: string[], value: Json): any {
  const copy = clone(root);
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  Object.defineProperty(node, path[path.length - 1], { value, enumerable: true, writable: true, configurable: true });
  return copy;
}

function deleteAt(root: any, path: string[]): any {
  const copy = clone(root);
  let node = copy;
  for (const key of path.slice(0, -1)) node = node[key];
  delete node[path[path.length - 1]];
  return copy;
}

type Mutation =
  | { kind: "set"; pick: number; value: Json }
  | { kind: "delete"; pick: number }
  | { kind: "extra"; pick: number; key: string; value: Json }
  | { kind: "root"; value: Json }
  | { kind: "raw"; text: string }
  | { kind: "duplicate_key"; pick: number; value: Json }
  | { kind: "oversized" }
  | { kind: "inject"; pick: number; at: number; text: string };

/** Characters that break naive storage or display: NUL (PostgreSQL text cannot hold it), lone
 *  surrogates, bidi overrides, BOM, line separators, emoji. */
const trickyText = ["\u0000", "\ud800", "\udfff", "\u202e", "\u200f", "\ufeff", "\u2028", "\u0085", "\r\n", "😀", "\u0301", "\uffff", "%00", "\\"];

const badJson = [
  "{", "}", "{\"amount\":", "[", "nul", "'x'", "{\"a\":1,}", "{a:1}", "\u0000", "{\"amount\":1e999999}", "{\"amount\":-0}",
  "{\"amount\":9007199254740993,\"currency\":\"usd\"}", "\"just a string\"", "123", "true", "null", "[]", "{}}", "{\"__proto__\":{\"admin\":true}}",
  "{\"constructor\":{\"prototype\":{\"x\":1}}}", "\ufeff{}", "{\"a\":\"\\ud800\"}", "{\"a\":\"\\u0000\"}",
];

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ kind: fc.constant("set" as const), pick: fc.nat(), value: nastyValue }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("delete" as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("extra" as const), pick: fc.nat(), key: fc.constantFrom("surprise", "__proto__", "constructor", "amount ", "", "\u0000", "😀", "a".repeat(300)), value: nastyValue }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("root" as const), value: nastyValue }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("raw" as const), text: fc.oneof(fc.constantFrom(...badJson), fc.string({ unit: "binary", maxLength: 60 })) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("duplicate_key" as const), pick: fc.nat(), value: nastyValue }) },
  { weight: 1, arbitrary: fc.constant({ kind: "oversized" as const }) },
  {
    weight: 5,
    arbitrary: fc.record({ kind: fc.constant("inject" as const), pick: fc.nat(), at: fc.nat(), text: fc.oneof({ weight: 1, arbitrary: fc.constant("\u0000") }, { weight: 2, arbitrary: fc.constantFrom(...trickyText) }) }),
  },
);

function applyMutation(valid: Json, change: Mutation): { body: FuzzRequest["body"]; mutated?: string } {
  const paths = pathsOf(valid);
  const pick = <T>(list: T[], index: number) => list[index % list.length];
  switch (change.kind) {
    case "set": {
      if (paths.length === 0) return { body: { kind: "json", value: { [String(change.pick % 3)]: change.value } }, mutated: String(change.pick % 3) };
      const path = pick(paths, change.pick);
      return { body: { kind: "json", value: setAt(valid, path, change.value) }, mutated: path.join(".") };
    }
    case "delete": {
      if (paths.length === 0) return { body: { kind: "json", value: valid } };
      const path = pick(paths, change.pick);
      return { body: { kind: "json", value: deleteAt(valid, path) }, mutated: path.join(".") };
    }
    case "extra": {
      const objects = [[], ...paths.filter((path) => {
        let node: any = valid;
        for (const key of path) node = node[key];
        return node && typeof node === "object" && !Array.isArray(node);
      })];
      const parent = pick(objects, change.pick);
      const target = [...parent, change.key];
      return { body: { kind: "json", value: setAt(valid ?? {}, target, change.value) }, mutated: target.join(".") };
    }
    case "root":
      return { body: { kind: "json", value: change.value }, mutated: "" };
    case "raw":
      return { body: { kind: "raw", text: change.text } };
    case "duplicate_key": {
      const text = JSON.stringify(valid ?? {});
      const key = paths.length > 0 ? pick(paths, change.pick)[0] : "amount";
      return { body: { kind: "raw", text: text.replace(/^\{/, `{${JSON.stringify(key)}:${JSON.stringify(change.value) ?? "null"},`).replace(/,\}$/, "}") } };
    }
    case "inject": {
      // Into a string already in the body (or a text field added for the purpose).
      const strings = paths.filter((path) => {
        let node: any = valid;
        for (const key of path) node = node[key];
        return typeof node === "string";
      });
      if (strings.length === 0) return { body: { kind: "json", value: { ...(valid as object), description: `x${change.text}y` } }, mutated: "description" };
      const path = pick(strings, change.pick);
      let original: any = valid;
      for (const key of path) original = original[key];
      const at = change.at % (original.length + 1);
      return { body: { kind: "json", value: setAt(valid, path, original.slice(0, at) + change.text + original.slice(at)) }, mutated: path.join(".") };
    }
    case "oversized":
      return { body: { kind: "json", value: { ...(valid as object), description: "x".repeat(70 * 1024) } } };
  }
}

// ---------------------------------------------------------------------------------------------
// Requests for one operation.

function pathIdArbitrary(op: Operation, param: string, pools: Pools): fc.Arbitrary<string> {
  const own = (() => {
    if (param === "channel") return ["globalpay", "localacq"];
    if (op.path.startsWith("/v1/refunds")) return pools.refunds;
    if (op.path.startsWith("/v1/events")) return pools.events;
    if (op.path.startsWith("/v1/webhook_endpoints")) return pools.endpoints;
    if (op.path.startsWith("/v1/mandates")) return pools.mandates;
    if (op.path.startsWith("/v1/virtual_accounts")) return pools.virtual_accounts;
    return pools.payments;
  })();
  const all = [...pools.payments, ...pools.refunds, ...pools.events, ...pools.endpoints, ...pools.mandates, ...pools.virtual_accounts];
  return fc.oneof(
    { weight: 6, arbitrary: fc.constantFrom(...own) },
    { weight: 1, arbitrary: fc.constantFrom(...all) },
    { weight: 2, arbitrary: fc.constantFrom(...pools.victim) },
    { weight: 1, arbitrary: fc.stringMatching(/^[a-z]{2,4}_[0-9a-z]{10,30}$/) },
    {
      weight: 2,
      arbitrary: fc.oneof(
        fc.constantFrom("%ZZ", "%00", "..%2F..%2Fadmin", "pay_%F0%9F%98%80", "PAY_ABC", "pay-abc", "pay_" + "a".repeat(200), "%2e%2e", "a%20b", "pay_abc%3Fx%3D1", "%C0%AE"),
        fc.string({ unit: "grapheme-ascii", minLength: 1, maxLength: 80 }).map((value) => encodeURIComponent(value)),
      ),
    },
  );
}

function queryArbitrary(op: Operation, pools: Pools): fc.Arbitrary<{ query: string; mutated: boolean }> {
  if (op.query.length === 0) {
    return fc.oneof(fc.constant({ query: "", mutated: false }), fc.constantFrom("?x=1", "?limit=5", "?%ZZ=1", "?a=%00").map((query) => ({ query, mutated: true })));
  }
  const valid = fc.record(
    Object.fromEntries(op.query.map((param) => [param.name, param.name === "limit" ? fc.integer({ min: 1, max: 100 }).map(String)
      : param.name === "starting_after" || param.name === "payment" ? fc.constantFrom(...pools.payments, ...pools.events)
      : (fromSchema(param.schema, param.name, pools) as fc.Arbitrary<string>)])),
    { requiredKeys: [] },
  );
  const encode = (params: Record<string, unknown>, extra: [string, string][] = []) => {
    const search = new URLSearchParams();
    for (const [key, value] of Object.entries(params)) search.append(key, String(value));
    for (const [key, value] of extra) search.append(key, value);
    const text = search.toString();
    return text ? `?${text}` : "";
  };
  return fc.oneof(
    { weight: 2, arbitrary: valid.map((params) => ({ query: encode(params), mutated: false })) },
    {
      weight: 3,
      arbitrary: fc.tuple(valid, fc.constantFrom(...op.query.map((param) => param.name), "colour", "limit"), fc.oneof(fc.constantFrom(...trickyText).map((text) => `a${text}b`), fc.constantFrom(...nastyStrings.filter((s) => !/[\ud800-\udfff]/.test(s))), fc.constantFrom("-1", "0", "101", "1000", "1e2", "9".repeat(400), "a\u0000b", "\u202eevt", "payment.\ufeffcreated"), fc.string({ unit: "grapheme", maxLength: 30 })), fc.boolean())
        .map(([params, name, value, duplicate]) => ({ query: duplicate ? encode(params, [[name, value], [name, value]]) : encode({ ...params, [name]: value }), mutated: true })),
    },
  );
}

const idempotencyKey: fc.Arbitrary<string | undefined> = fc.oneof(
  { weight: 6, arbitrary: fc.constant(undefined) },
  { weight: 2, arbitrary: fc.uuid() },
  { weight: 1, arbitrary: fc.constantFrom("", " ", "a", "x".repeat(255), "x".repeat(256), "x".repeat(5_000), "é\u00ff\u00e9", "fixed-key-1", "fixed-key-1", "null", "../../", "\t tab") },
  { weight: 1, arbitrary: fc.string({ unit: fc.integer({ min: 0x20, max: 0xff }).map((code) => String.fromCharCode(code)), maxLength: 300 }) },
);

const contentTypes = [
  "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json; charset=latin1", "application/JSON",
  "application/json; charset=utf-16", "application/json;;", "application/jsonp", "*/*", "application/vnd.api+json", "",
];

function requestArbitrary(op: Operation, pools: Pools, validOnly: boolean): fc.Arbitrary<FuzzRequest> {
  const pathArb = op.pathParams.length === 0
    ? fc.constant(op.path)
    : fc.tuple(...op.pathParams.map((param) => pathIdArbitrary(op, param, pools))).map((ids) => {
      let path = op.path;
      op.pathParams.forEach((param, index) => (path = path.replace(`{${param}}`, ids[index])));
      return path;
    });
  const validBody: fc.Arbitrary<Json | undefined> = op.body ? fromSchema(op.body, "", pools) : fc.constant(undefined);
  const defaultAuth: Auth = op.path.startsWith("/v1/admin") ? "admin" : "own";
  const authArb: fc.Arbitrary<Auth> = validOnly ? fc.constant(defaultAuth)
    : fc.oneof({ weight: 12, arbitrary: fc.constant(defaultAuth) }, { weight: 1, arbitrary: fc.constantFrom<Auth>("none", "bogus", "publishable", "victim", "admin", "own", "malformed") });
  const headerArb: fc.Arbitrary<Record<string, string>> = validOnly ? fc.constant({})
    : fc.oneof(
      { weight: 12, arbitrary: fc.constant({}) },
      { weight: 1, arbitrary: fc.constant({ "x-padding": "p".repeat(20 * 1024) }) },
      { weight: 1, arbitrary: fc.constant(Object.fromEntries(Array.from({ length: 60 }, (_, i) => [`x-h${i}`, "v".repeat(200)]))) },
      { weight: 1, arbitrary: fc.constantFrom({ "content-length": "5" }, { "transfer-encoding": "chunked" }, { "x-forwarded-for": "127.0.0.1, 10.0.0.1" }, { accept: "text/html" }) },
    );
  const bodyArb: fc.Arbitrary<{ body: FuzzRequest["body"]; mutated?: string; content_type?: string; label: string }> = (() => {
    const asJson = (value: Json): FuzzRequest["body"] => (value === undefined ? { kind: "none" } : { kind: "json", value });
    if (validOnly || !op.body) {
      const plain = validBody.map((value) => ({ body: asJson(value), label: "valid" }));
      if (validOnly) return plain;
      // Operations without a body still get junk bodies now and then.
      return fc.oneof(
        { weight: 4, arbitrary: plain },
        { weight: 1, arbitrary: fc.tuple(nastyValue, fc.option(fc.constantFrom(...contentTypes), { nil: undefined })).map(([value, content_type]) => ({ body: { kind: "json" as const, value }, content_type, label: "junk body" })) },
      );
    }
    return fc.oneof(
      { weight: 1, arbitrary: validBody.map((value) => ({ body: asJson(value), label: "valid" })) },
      { weight: 7, arbitrary: fc.tuple(validBody, mutation).map(([value, change]) => ({ ...applyMutation(value, change), label: `mutation:${change.kind}` })) },
      { weight: 1, arbitrary: fc.tuple(validBody, fc.constantFrom(...contentTypes)).map(([value, content_type]) => ({ body: asJson(value), content_type, label: "content-type" })) },
    );
  })();
  return fc.record({ path: pathArb, query: queryArbitrary(op, pools), auth: authArb, body: bodyArb, idempotency_key: op.method === "post" && !validOnly ? idempotencyKey : fc.constant(undefined), extra_headers: headerArb })
    .map(({ path, query, auth, body, idempotency_key, extra_headers }) => ({
      path, query: validOnly && query.mutated ? "" : query.query, auth, body: body.body, content_type: body.content_type, idempotency_key, extra_headers,
      mutated: body.mutated, label: `${body.label}${query.mutated ? "+query" : ""}${auth !== defaultAuth ? `+auth:${auth}` : ""}`,
    }));
}

// ---------------------------------------------------------------------------------------------
// Sending and checking.


interface Keys {
  own: Merchant;
  victim: Merchant;
  admin: string;
}

function authorization(auth: Auth, keys: Keys): string | undefined {
  switch (auth) {
    case "own": return `Bearer ${keys.own.secret}`;
    case "none": return undefined;
    case "bogus": return `Bearer sk_test_${Math.random().toString(36).slice(2)}${"0".repeat(20)}`;
    case "publishable": return `Bearer ${keys.own.publishable}`;
    case "victim": return `Bearer ${keys.victim.secret}`;
    case "admin": return `Bearer ${keys.admin}`;
    case "malformed": return `Bearer ${"k".repeat(600)}`;
  }
}

async function send(stack: Stack, method: string, request: FuzzRequest, keys: Keys): Promise<ApiResponse> {
  const headers: Record<string, string> = { ...request.extra_headers };
  const auth = authorization(request.auth, keys);
  if (auth) headers.authorization = auth;
  if (request.idempotency_key !== undefined) headers["idempotency-key"] = request.idempotency_key;
  let body: string | undefined;
  if (request.body.kind === "json") body = JSON.stringify(request.body.value) ?? "null";
  if (request.body.kind === "raw") body = request.body.text;
  if (body !== undefined) headers["content-type"] = request.content_type ?? "application/json";
  if (method === "get" || method === "delete") {
    // GET with a body is unusual but legal; DELETE keeps it. GET bodies are dropped by fetch.
    if (method === "get") body = undefined;
  }
  if (headers["content-length"] || headers["transfer-encoding"]) {
    delete headers["content-length"];
    delete headers["transfer-encoding"];
  }
  try {
    const response = await fetch(`${stack.url}${request.path}${request.query}`, { method: method.toUpperCase(), headers, body, redirect: "manual", signal: AbortSignal.timeout(15_000) });
    const text = await response.text();
    let parsed: any = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: response.status, headers: response.headers, body: parsed, text };
  } catch (error) {
    // The server closing the connection (e.g. after 431) is an answer too, as long as it did not die.
    const health = await fetch(`${stack.url}/health`).then((r) => r.status, () => 0);
    assert.equal(health, 200, `the server stopped answering after ${request.label} ${request.path}: ${String(error)}`);
    return { status: 499, headers: new Headers(), body: undefined, text: String(error) };
  }
}

/** Accepted: it may have written (a success, a redirect, or a card decline that records the failed payment). */
const accepted = (status: number) => (status >= 200 && status < 400) || status === 402;

interface Snapshot {
  payments: Map<string, string>;
  refunds: Map<string, string>;
  events: Map<string, string>;
  endpoints: Map<string, string>;
  mandates: Map<string, string>;
  virtual_accounts: Map<string, string>;
  victim: string;
  ledger: string;
  counts: Record<string, number>;
}

async function listAll(stack: Stack, key: string, path: string, pages = 3): Promise<any[]> {
  const out: any[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < pages; page++) {
    const response = await call(stack.url, "GET", `${path}?limit=100${cursor ? `&starting_after=${cursor}` : ""}`, { key });
    assert.equal(response.status, 200, response.text);
    out.push(...response.body.data);
    if (!response.body.has_more) break;
    cursor = response.body.data.at(-1).id;
  }
  return out;
}

async function snapshot(stack: Stack, keys: Keys): Promise<Snapshot> {
  const state = (object: any) => JSON.stringify([object.status, object.amount, object.amount_received, object.amount_capturable, object.amount_refunded, object.enabled_events, object.url]);
  const [payments, refunds, events, endpoints, mandates, virtual_accounts, victim, ledger] = await Promise.all([
    listAll(stack, keys.own.secret, "/v1/payments"),
    listAll(stack, keys.own.secret, "/v1/refunds"),
    listAll(stack, keys.own.secret, "/v1/events"),
    listAll(stack, keys.own.secret, "/v1/webhook_endpoints", 1),
    listAll(stack, keys.own.secret, "/v1/mandates"),
    listAll(stack, keys.own.secret, "/v1/virtual_accounts"),
    listAll(stack, keys.victim.secret, "/v1/payments"),
    call(stack.url, "GET", "/v1/admin/ledger/verify", { key: keys.admin }),
  ]);
  assert.equal(ledger.status, 200, ledger.text);
  assert.equal(ledger.body.balanced, true, ledger.text);
  return {
    payments: new Map(payments.map((p) => [p.id, state(p)])),
    refunds: new Map(refunds.map((r) => [r.id, state(r)])),
    events: new Map(events.map((e) => [e.id, JSON.stringify([e.data?.object?.id, e.data?.object?.payment])])),
    endpoints: new Map(endpoints.map((w) => [w.id, state(w)])),
    mandates: new Map(mandates.map((m) => [m.id, state(m)])),
    virtual_accounts: new Map(virtual_accounts.map((v) => [v.id, state(v)])),
    victim: JSON.stringify(victim.map((p) => [p.id, state(p)])),
    ledger: JSON.stringify(ledger.body.currencies),
    counts: {
      payments: payments.length, refunds: refunds.length, events: events.length, webhook_endpoints: endpoints.length,
      mandates: mandates.length, virtual_accounts: virtual_accounts.length,
    },
  };
}

/** Objects new or changed between two snapshots, by kind. */
function differences(before: Snapshot, after: Snapshot): { kind: string; id: string; refs: string[] }[] {
  const out: { kind: string; id: string; refs: string[] }[] = [];
  for (const kind of ["payments", "refunds", "endpoints", "mandates", "virtual_accounts"] as const) {
    for (const [id, state] of after[kind]) if (before[kind].get(id) !== state) out.push({ kind, id, refs: [id] });
  }
  for (const [id, refs] of after.events) if (!before.events.has(id)) out.push({ kind: "events", id, refs: JSON.parse(refs).filter(Boolean) });
  return out;
}

function check400(response: ApiResponse, request: FuzzRequest, where: string): void {
  const error = response.body?.error;
  assert.ok(error && typeof error === "object", `${where}: a 400 carries an error object: ${response.text.slice(0, 300)}`);
  assert.equal(typeof error.type, "string", `${where}: error.type`);
  assert.equal(typeof error.code, "string", `${where}: error.code`);
  assert.ok(error.code.length > 0, `${where}: error.code`);
  assert.equal(typeof error.message, "string", `${where}: error.message`);
  const schemaError = /^parameter_(invalid|missing|unknown)$/.test(error.code);
  if (schemaError && request.mutated && request.body.kind === "json" && !request.label.includes("+auth:")) {
    assert.equal(typeof error.param, "string", `${where}: a schema error on body field '${request.mutated}' names error.param: ${response.text.slice(0, 300)}`);
  }
}

// ---------------------------------------------------------------------------------------------

describe("fuzzing every operation of the OpenAPI document", () => {
  let stack: Stack;
  let keys: Keys;
  let pools: Pools;
  let operations: Operation[] = [];
  const tally = { fuzz_requests: 0, rejected: 0, accepted: 0, batches: 0, statuses: {} as Record<string, number> };

  before(async () => {
    // The fuzzer sends many bad keys on purpose; the per-IP guard against that is tested elsewhere.
    stack = await startStack({ env: { LOG_LEVEL: "fatal", CHALLENGE_EXPIRY_MS: String(3600_000), RATE_LIMIT_PER_IP_PER_SECOND: "0" } });
    const own = await createMerchant(stack, "Fuzzed shop");
    const victim = await createMerchant(stack, "Bystander shop");
    keys = { own, victim, admin: stack.admin_key };

    const made = async (merchant: Merchant, body: Record<string, unknown>) => {
      const response = await call(stack.url, "POST", "/v1/payments", { key: merchant.secret, body });
      assert.ok(response.status === 200 || response.status === 402, response.text);
      return (response.body.id ?? response.body.error.payment.id) as string;
    };
    pools = { payments: [], refunds: [], events: [], endpoints: [], victim: [], captured: [], mandates: [], virtual_accounts: [] };
    for (let i = 0; i < 3; i++) pools.captured.push(await made(own, cardPayment(cards.visa, { amount: 5_000 })));
    pools.payments.push(...pools.captured);
    pools.payments.push(await made(own, { amount: 1_000, currency: "usd" }));
    pools.payments.push(await made(own, cardPayment(cards.visa, { capture_method: "manual" })));
    pools.payments.push(await made(own, cardPayment(cards.visa, { capture_method: "manual" })));
    pools.payments.push(await made(own, cardPayment(cards.doNotHonor)));
    pools.payments.push(await made(own, cardPayment(cards.threeDs, { return_url: "http://127.0.0.1:9/back" })));
    // Every other family too: their cancel, capture, refund and represent paths get real ids.
    pools.payments.push(await made(own, { amount: 5_000, currency: "php", confirm: true, payment_method_data: { type: "wallet", wallet: { provider: "gcash" } } }));
    pools.payments.push(await made(own, { amount: 10_000, currency: "usd", confirm: true, payment_method_data: { type: "bnpl", bnpl: { provider: "sandbox" } } }));
    pools.payments.push(await made(own, { amount: 15_000_000, currency: "idr", confirm: true, payment_method_data: { type: "bank_transfer", bank_transfer: { country: "ID" } } }));
    const mandate = await call(stack.url, "POST", "/v1/mandates", {
      key: own.secret, body: { type: "sepa_debit", sepa_debit: { iban: "DE89370400440532013000", account_holder_name: "Fuzz Debtor" } },
    });
    assert.equal(mandate.status, 200, mandate.text);
    pools.mandates.push(mandate.body.id);
    pools.payments.push(await made(own, { amount: 2_500, currency: "eur", mandate: mandate.body.id, confirm: true }));
    const account = await call(stack.url, "POST", "/v1/virtual_accounts", { key: own.secret, body: { country: "ID", customer: "cus_fuzz" } });
    assert.equal(account.status, 200, account.text);
    pools.virtual_accounts.push(account.body.id);
    const refund = await call(stack.url, "POST", "/v1/refunds", { key: own.secret, body: { payment: pools.captured[0], amount: 100 } });
    assert.equal(refund.status, 200, refund.text);
    pools.refunds.push(refund.body.id);
    const endpoint = await call(stack.url, "POST", "/v1/webhook_endpoints", { key: own.secret, body: { url: "http://127.0.0.1:9/hooks", enabled_events: ["*"] } });
    assert.equal(endpoint.status, 201, endpoint.text);
    pools.endpoints.push(endpoint.body.id);
    const events = await call(stack.url, "GET", "/v1/events?limit=5", { key: own.secret });
    pools.events.push(...events.body.data.map((event: any) => event.id));
    pools.victim.push(await made(victim, cardPayment(cards.visa)), await made(victim, cardPayment(cards.visa, { capture_method: "manual" })));
    const victimRefund = await call(stack.url, "POST", "/v1/refunds", { key: victim.secret, body: { payment: pools.victim[0], amount: 100 } });
    pools.victim.push(victimRefund.body.id);

    const document = await call(stack.url, "GET", "/openapi.json");
    assert.equal(document.status, 200);
    for (const [path, item] of Object.entries<any>(document.body.paths)) {
      for (const [method, spec] of Object.entries<any>(item)) {
        const parameters: any[] = spec.parameters ?? [];
        operations.push({
          method,
          path,
          body: spec.requestBody?.content?.["application/json"]?.schema,
          query: parameters.filter((p) => p.in === "query").map((p) => ({ name: p.name, schema: p.schema, required: !!p.required })),
          pathParams: parameters.filter((p) => p.in === "path").map((p) => p.name),
        });
      }
    }
    assert.ok(operations.length >= 20, `operations: ${operations.length}`);
    console.log(JSON.stringify({ fuzz_seed: seed, runs_per_operation: runs, operations: operations.length, backend }));
  });

  after(async () => {
    console.log(JSON.stringify({ ...tally, seed, runs_per_operation: runs, backend }));
    if (stack) await stack.close();
  });

  /** Sends a batch concurrently, then checks statuses, error shapes, and what was written. */
  async function runBatch(op: Operation, batch: FuzzRequest[]): Promise<void> {
    const before = await snapshot(stack, keys);
    const responses: ApiResponse[] = await Promise.all(batch.map((request) => send(stack, op.method, request, keys)));
    tally.batches++;
    const touched = new Set<string>();
    let anyAccepted = false;
    let victimActed = false;
    responses.forEach((response, index) => {
      const request = batch[index];
      const where = `${op.method.toUpperCase()} ${request.path}${request.query} [${request.label}] -> ${response.status}`;
      tally.fuzz_requests++;
      tally.statuses[response.status] = (tally.statuses[response.status] ?? 0) + 1;
      assert.ok(response.status < 500, `${where}: no 5xx: ${response.text.slice(0, 500)}\nrequest: ${JSON.stringify(request).slice(0, 800)}`);
      if (response.status === 400) check400(response, request, where);
      if (accepted(response.status)) {
        tally.accepted++;
        if (op.method === "get" && !op.path.endsWith("/return")) return; // reads never write
        anyAccepted = true;
        if (request.auth === "victim") victimActed = true;
        for (const segment of request.path.split("/")) touched.add(decodeURIComponent(segment));
        const body = response.body ?? {};
        for (const id of [body.id, body.payment, body.error?.payment?.id]) if (typeof id === "string") touched.add(id);
        if (request.body.kind === "json" && typeof (request.body.value as any)?.payment === "string") touched.add((request.body.value as any).payment);
      } else {
        tally.rejected++;
      }
    });
    const afterState = await snapshot(stack, keys);
    if (!victimActed) assert.equal(afterState.victim, before.victim, `${op.method} ${op.path}: another merchant's payments never change`);
    const changes = differences(before, afterState);
    const described = () => JSON.stringify({ changes: changes.slice(0, 5), statuses: responses.map((r) => r.status), labels: batch.map((r) => r.label) });
    if (!anyAccepted) {
      assert.deepEqual(changes, [], `${op.method} ${op.path}: a batch of rejected requests wrote nothing: ${described()}`);
      assert.equal(afterState.ledger, before.ledger, `${op.method} ${op.path}: a batch of rejected requests moved no money`);
      assert.deepEqual(afterState.counts, before.counts);
    } else {
      for (const change of changes) {
        assert.ok(change.refs.some((ref) => touched.has(ref)), `${op.method} ${op.path}: ${change.kind} ${change.id} changed but no accepted request touched it: ${described()}`);
      }
    }
    // Keep the pools fresh with objects the fuzzer made.
    for (const response of responses) {
      const id = response.body?.id;
      if (response.status === 200 && typeof id === "string") {
        if (id.startsWith("pay_") && pools.payments.length < 40) pools.payments.push(id);
        if (id.startsWith("re_") && pools.refunds.length < 20) pools.refunds.push(id);
      }
      if (response.status === 201 && typeof id === "string" && id.startsWith("we_") && pools.endpoints.length < 20) pools.endpoints.push(id);
    }
  }

  it("never answers 5xx, never writes on a rejected request, and explains every 400", async () => {
    const started = Date.now();
    for (const [index, op] of operations.entries()) {
      // Valid-looking requests first (they must work or be refused cleanly), then mutated ones.
      await fc.assert(
        fc.asyncProperty(fc.array(requestArbitrary(op, pools, true), { minLength: 1, maxLength: 3 }), (batch) => runBatch(op, batch)),
        { seed: seed + index, numRuns: Math.max(1, Math.ceil(runs / 3)), endOnFailure: true, includeErrorInReport: true },
      );
      await fc.assert(
        fc.asyncProperty(fc.array(requestArbitrary(op, pools, false), { minLength: 1, maxLength: batchMax }), (batch) => runBatch(op, batch)),
        { seed: seed + 1_000 + index, numRuns: runs, endOnFailure: true, includeErrorInReport: true },
      );
    }
    console.log(JSON.stringify({ fuzz_requests: tally.fuzz_requests, rejected: tally.rejected, accepted: tally.accepted, batches: tally.batches, seed, duration_ms: Date.now() - started }));
  });

  it("concurrent PUT /v1/routing/config never answers 5xx", async () => {
    const responses = await Promise.all(Array.from({ length: 8 }, () =>
      call(stack.url, "PUT", "/v1/routing/config", { key: keys.victim.secret, body: { rules: [], default_channels: ["globalpay", "localacq"] } })));
    tally.fuzz_requests += responses.length;
    for (const response of responses) assert.equal(response.status, 200, response.text);
  });

  it("a 20 KB header, a body over the limit, bad JSON and a wrong content type are answered, and write nothing", async () => {
    const before = await snapshot(stack, keys);
    const body = JSON.stringify(cardPayment(cards.visa));
    const post = (headers: Record<string, string>, text: string) =>
      fetch(`${stack.url}/v1/payments`, { method: "POST", headers: { authorization: `Bearer ${keys.own.secret}`, ...headers }, body: text }).then(
        async (response) => ({ status: response.status, text: await response.text() }),
        (error) => ({ status: 0, text: String(error) }),
      );
    const huge = await post({ "content-type": "application/json", "x-padding": "p".repeat(20 * 1024) }, body);
    assert.ok(huge.status === 431 || (huge.status >= 400 && huge.status < 500), `20 KB header: ${huge.status} ${huge.text}`);
    const oversized = await post({ "content-type": "application/json" }, JSON.stringify({ ...cardPayment(cards.visa), description: "x".repeat(80 * 1024) }));
    assert.equal(oversized.status, 413, oversized.text);
    const badJsonResponse = await post({ "content-type": "application/json" }, "{\"amount\":");
    assert.equal(badJsonResponse.status, 400, badJsonResponse.text);
    assert.equal(JSON.parse(badJsonResponse.text).error.type, "invalid_request_error");
    const wrongType = await post({ "content-type": "text/plain" }, body);
    assert.equal(wrongType.status, 415, wrongType.text);
    tally.fuzz_requests += 4;
    const health = await fetch(`${stack.url}/health`);
    assert.equal(health.status, 200);
    const afterState = await snapshot(stack, keys);
    assert.deepEqual(differences(before, afterState), []);
    assert.equal(afterState.ledger, before.ledger);
  });
});
