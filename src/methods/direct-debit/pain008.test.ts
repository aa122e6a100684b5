// The pain.008 collection file validates against the official ISO 20022 schema (vendored in xsd/),
// groups collections by scheme and sequence type, and carries amounts exactly.
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { describe, it } from "node:test";
import { XmlDocument, XsdValidator } from "libxml2-wasm";
import { buildPain008, sepaId, type FileCollection } from "./pain008.ts";

const schema = readFileSync(new URL("./xsd/pain.008.001.02.xsd", import.meta.url), "utf8");

function validate(xml: string): void {
  const xsd = XmlDocument.fromString(schema);
  const validator = XsdValidator.fromDoc(xsd);
  const doc = XmlDocument.fromString(xml);
  try {
    validator.validate(doc);
  } finally {
    doc.dispose();
    validator.dispose();
    xsd.dispose();
  }
}

const collection = (extra: Partial<FileCollection> = {}): FileCollection => ({
  end_to_end_id: "att_01jfq3k7m2x9v8b6n4c5d2e1fz", scheme: "sepa_core", sequence_type: "FRST", amount: 4990,
  mandate_reference: "MD-01JFQ3K7M2X9V8B6N4C5D2E1FZ", mandate_signed_ms: Date.UTC(2026, 0, 15), debtor_name: "Test Debtor",
  debtor_iban: "DE89370400440532013000", ...extra,
});

describe("pain.008.001.02", () => {
  it("a batch validates against the official schema, one PmtInf per scheme and sequence type", () => {
    const xml = buildPain008({
      message_id: "DD20261125D2E1FZ00", created_ms: Date.UTC(2026, 10, 25, 17, 0), collection_date: "2026-11-27",
      collections: [
        collection(),
        collection({ end_to_end_id: "att_2", sequence_type: "RCUR", amount: 1, debtor_bic: "COBADEFFXXX" }),
        collection({ end_to_end_id: "att_3", sequence_type: "RCUR", amount: 99_999_999_999 }),
        collection({ end_to_end_id: "att_4", scheme: "sepa_b2b", amount: 1005, debtor_name: "Test Company GmbH" }),
      ],
    });
    validate(xml);
    assert.match(xml, /xmlns="urn:iso:std:iso:20022:tech:xsd:pain.008.001.02"/);
    assert.equal(xml.match(/<PmtInf>/g)?.length, 3);
    assert.match(xml, /<NbOfTxs>4<\/NbOfTxs>/);
    assert.match(xml, /<CtrlSum>1000000059.95<\/CtrlSum>/);
    assert.match(xml, /<InstdAmt Ccy="EUR">49.90<\/InstdAmt>/);
    assert.match(xml, /<InstdAmt Ccy="EUR">0.01<\/InstdAmt>/);
    assert.match(xml, /<SeqTp>FRST<\/SeqTp>/);
    assert.match(xml, /<Cd>B2B<\/Cd>/);
    assert.match(xml, /<MndtId>MD-01JFQ3K7M2X9V8B6N4C5D2E1FZ<\/MndtId>/);
    assert.match(xml, /<EndToEndId>att-01jfq3k7m2x9v8b6n4c5d2e1fz<\/EndToEndId>/);
    assert.match(xml, /<ReqdColltnDt>2026-11-27<\/ReqdColltnDt>/);
  });

  it("the schema rejects a broken document (the validator really validates)", () => {
    const xml = buildPain008({ message_id: "m1", created_ms: Date.now(), collection_date: "2026-11-27", collections: [collection()] });
    assert.throws(() => validate(xml.replace("<SeqTp>FRST</SeqTp>", "<SeqTp>LAST</SeqTp>")));
    assert.throws(() => validate(xml.replace(/<DbtrAcct>[\s\S]*?<\/DbtrAcct>/, "")));
  });

  it("SEPA ids lose the underscore and stay within 35 characters", () => {
    assert.equal(sepaId("att_abc"), "att-abc");
    assert.equal(sepaId("x".repeat(40)).length, 35);
  });
});
