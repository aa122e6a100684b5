import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { buildPixPayload, crc16ccittFalse, hasValidPixCrc, parseEmv, PIX_GUI, txidFor } from "./pix.ts";

describe("Pix copia e cola", () => {
  it("CRC16-CCITT-FALSE matches the standard check value", () => {
    assert.equal(crc16ccittFalse("123456789"), 0x29b1);
  });

  it("accepts the Banco Central's example payload (CRC 1D3D)", () => {
    const example = "00020126580014br.gov.bcb.pix0136123e4567-e12b-12d1-a456-4266554400005204000053039865802BR5913Fulano de Tal6008BRASILIA62070503***63041D3D";
    assert.ok(hasValidPixCrc(example));
    assert.equal(hasValidPixCrc(example.replace("Fulano", "Fulana")), false);
  });

  it("builds a payload with the required tags and a valid CRC", () => {
    const txid = txidFor("pay_01jabcdefghjkmnpqrstvwxyz0");
    assert.match(txid, /^[a-zA-Z0-9]{26,35}$/);
    const payload = buildPixPayload({ key: "pix@corridor.example", amount: 12345, merchant_name: "Corridor Sandbox", merchant_city: "São Paulo", txid });
    assert.ok(hasValidPixCrc(payload));
    const fields = parseEmv(payload)!;
    assert.equal(fields.get("00"), "01");
    const account = parseEmv(fields.get("26")!)!;
    assert.equal(account.get("00"), PIX_GUI);
    assert.equal(account.get("01"), "pix@corridor.example");
    assert.equal(fields.get("52"), "0000");
    assert.equal(fields.get("53"), "986");
    assert.equal(fields.get("54"), "123.45");
    assert.equal(fields.get("58"), "BR");
    assert.equal(fields.get("60"), "SAO PAULO");
    assert.equal(parseEmv(fields.get("62")!)!.get("05"), txid);
    assert.equal(fields.get("63")!.length, 4);
    // Recompute the CRC independently of hasValidPixCrc.
    assert.equal(fields.get("63"), crc16ccittFalse(payload.slice(0, -4)).toString(16).toUpperCase().padStart(4, "0"));
  });
});
