import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { corridorDecline, normalizeDecline } from "../channels/declines.ts";
import { limits } from "../limits.ts";
import { cascadeVerdict, mayCascade } from "./cascade.ts";

describe("cascade policy", () => {
  it("technical failures cascade, within the attempts limit", () => {
    const technical = corridorDecline("processing_error");
    assert.equal(mayCascade(technical, 1), true);
    assert.equal(mayCascade(normalizeDecline("localacq", "91", undefined, "91")), true);
    assert.equal(mayCascade(technical, limits.attempts_per_payment_max), false);
    assert.match((cascadeVerdict(technical, limits.attempts_per_payment_max) as { why: string }).why, /attempt limit/);
  });

  it("never after a hard decline", () => {
    assert.equal(mayCascade(normalizeDecline("globalpay", "DO_NOT_HONOR")), false);
    assert.equal(mayCascade(normalizeDecline("localacq", "R1")), false);
    // even if a table row said cascade
    assert.equal(mayCascade({ code: "do_not_honor", category: "hard", cascade: true }), false);
  });

  it("never after a Visa category-1 code, whatever the category says", () => {
    for (const code of ["04", "07", "12", "14", "15", "41", "43", "46", "57", "R0", "R1", "R3"]) {
      const verdict = cascadeVerdict({ code: "processing_error", category: "technical", cascade: true, network_response_code: code });
      assert.deepEqual(verdict, { cascade: false, why: `Visa category 1 response code ${code}` });
    }
    assert.equal(mayCascade({ code: "processing_error", category: "technical", cascade: true, network_response_code: "96" }), true);
  });

  it("never after Mastercard MAC 03 or 21", () => {
    for (const advice of ["03", "21"]) {
      assert.equal(mayCascade({ ...corridorDecline("issuer_unavailable"), merchant_advice_code: advice }), false);
    }
    assert.equal(mayCascade({ ...corridorDecline("issuer_unavailable"), merchant_advice_code: "02" }), true);
  });

  it("soft declines follow the table: no cascade, except authentication required", () => {
    assert.equal(mayCascade(normalizeDecline("globalpay", "INSUFFICIENT_FUNDS")), false);
    assert.equal(mayCascade(corridorDecline("authentication_required")), true);
  });
});
