// Account checks of mandates (ABA routing checksum) and the 36-month lapse date; the return-reason table.
import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { isValidRoutingNumber, lapsesAtMs, MANDATE_LAPSE_MONTHS } from "./mandates.ts";
import { REPRESENTMENTS_MAX, returnReason } from "./returns.ts";

describe("ABA routing numbers", () => {
  it("accepts nine digits with a valid 3-7-1 checksum", () => {
    for (const routing of ["011000015", "021000021", "110000000", "026009593", "121000358"]) assert.ok(isValidRoutingNumber(routing), routing);
  });
  it("refuses a wrong check digit, a wrong length or other characters", () => {
    for (const routing of ["021000022", "110000001", "11000000", "0210000210", "02100002a", "", "021 00002"]) assert.ok(!isValidRoutingNumber(routing), routing);
  });
});

describe("lapse", () => {
  it("a mandate lapses 36 calendar months after its last use", () => {
    assert.equal(MANDATE_LAPSE_MONTHS, 36);
    assert.equal(lapsesAtMs(Date.UTC(2026, 10, 25, 12)), Date.UTC(2029, 10, 25, 12));
    assert.equal(lapsesAtMs(Date.UTC(2024, 1, 29)), Date.UTC(2027, 2, 1), "29 February rolls over to 1 March");
  });
});

describe("return reasons", () => {
  it("only ACH R01 and R09 may be presented again, at most twice", () => {
    assert.equal(REPRESENTMENTS_MAX, 2);
    for (const code of ["R01", "R09"]) assert.equal(returnReason(code).may_represent, true, code);
    for (const code of ["R02", "R03", "R10", "R29", "AM04", "AC04", "MD01", "MD06", "MS02", "MS03", "SL01"]) assert.equal(returnReason(code).may_represent, false, code);
  });
  it("account and authorization failures end the mandate; money failures do not", () => {
    for (const code of ["AC04", "MD01", "R02", "R03", "R10", "R29"]) assert.equal(returnReason(code).ends_mandate, true, code);
    for (const code of ["AM04", "MD06", "MS02", "MS03", "SL01", "R01", "R09"]) assert.equal(returnReason(code).ends_mandate, false, code);
  });
  it("an unlisted code is still a return, without re-presentment or mandate end", () => {
    const reason = returnReason("ZZ99");
    assert.equal(reason.description, "Unlisted return reason");
    assert.equal(reason.may_represent, false);
    assert.equal(reason.ends_mandate, false);
  });
});
