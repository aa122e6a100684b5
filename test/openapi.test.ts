// The OpenAPI document is generated from the same schemas that validate requests.
import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";
import { assertLedgerBalanced, call, startStack, type Stack } from "./helpers.ts";

describe("OpenAPI document", () => {
  let stack: Stack;
  let document: any;

  before(async () => {
    stack = await startStack();
    const response = await call(stack.url, "GET", "/openapi.json");
    assert.equal(response.status, 200, response.text);
    assert.match(response.headers.get("content-type") ?? "", /application\/json/);
    document = response.body;
  });

  after(async () => {
    if (!stack) return;
    await assertLedgerBalanced(stack);
    await stack.close();
  });

  it("is OpenAPI 3.1 and needs no API key to read", () => {
    assert.match(document.openapi, /^3\.1\.\d+$/);
    assert.equal(typeof document.info.title, "string");
    assert.equal(typeof document.info.version, "string");
    assert.equal(document.components.securitySchemes.bearer.scheme, "bearer");
  });

  it("has the main paths and operations", () => {
    const paths = document.paths;
    assert.ok(paths["/v1/payments"]?.post, "POST /v1/payments");
    assert.ok(paths["/v1/payments"]?.get, "GET /v1/payments");
    assert.ok(paths["/v1/payments/{id}"]?.get, "GET /v1/payments/{id}");
    assert.ok(paths["/v1/payments/{id}/confirm"]?.post, "POST /v1/payments/{id}/confirm");
    assert.ok(paths["/v1/payments/{id}/capture"]?.post, "POST /v1/payments/{id}/capture");
    assert.ok(paths["/v1/payments/{id}/cancel"]?.post, "POST /v1/payments/{id}/cancel");
    assert.ok(paths["/v1/refunds"]?.post, "POST /v1/refunds");
    assert.ok(paths["/v1/refunds"]?.get, "GET /v1/refunds");
    assert.ok(paths["/v1/webhook_endpoints"]?.post, "POST /v1/webhook_endpoints");
    assert.ok(paths["/v1/webhook_endpoints"]?.get, "GET /v1/webhook_endpoints");
    assert.ok(paths["/v1/events"]?.get, "GET /v1/events");
    const capture = paths["/v1/payments/{id}/capture"].post;
    assert.ok(capture.parameters.some((parameter: any) => parameter.name === "id" && parameter.in === "path" && parameter.required), "the id path parameter");
    for (const path of Object.keys(paths)) assert.ok(!path.includes(":"), `${path} uses the {param} form`);
  });

  it("describes the payment request body: amount and currency required, card number described", () => {
    const schema = document.paths["/v1/payments"].post.requestBody.content["application/json"].schema;
    assert.equal(document.paths["/v1/payments"].post.requestBody.required, true);
    assert.equal(schema.type, "object");
    assert.ok(schema.required.includes("amount"), `required: ${schema.required}`);
    assert.ok(schema.required.includes("currency"), `required: ${schema.required}`);
    assert.equal(schema.additionalProperties, false);
    assert.equal(schema.properties.amount.type, "integer");
    assert.equal(schema.properties.amount.minimum, 1);
    const card = schema.properties.payment_method_data.properties.card;
    assert.equal(card.properties.number.type, "string");
    assert.match(card.properties.number.description ?? "", /card number/i);
    assert.ok(card.required.includes("number"));
    assert.deepEqual(schema.properties.capture_method.enum, ["automatic", "manual"]);
  });

  it("lists query parameters of the list endpoints", () => {
    const names = document.paths["/v1/events"].get.parameters.map((parameter: any) => parameter.name);
    for (const name of ["limit", "starting_after", "type"]) assert.ok(names.includes(name), `${name} in ${names}`);
  });
});
