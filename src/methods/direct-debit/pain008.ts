// SEPA collection files: a merchant's SEPA debits of one collection date as an ISO 20022
// pain.008.001.02 document (what a creditor sends its bank), built with the `sepa` package. One
// payment-information block per (scheme, sequence type), as the rulebook requires. Amounts stay
// integers in minor units until the document is written; the document's control sum is checked
// against their exact integer sum.
import { Document as SepaDocument } from "sepa";
import { assert } from "../../limits.ts";
import type { Queryable } from "../../store/db.ts";
import { toSafeNumber } from "../../store/db.ts";
import { CREDITOR_ID, CREDITOR_NAME } from "./mandates.ts";

export const PAIN_008_FORMAT = "pain.008.001.02";
/** Where collections are credited (the sandbox creditor's account). */
export const CREDITOR_ACCOUNT = { iban: "DE12500105170648489890", bic: "INGDDEFFXXX" } as const;
/** Collections in one file. */
export const BATCH_COLLECTIONS_MAX = 10_000;
/** Leaves room for ".<block>.<instruction>" within SEPA's 35 characters. */
export const MESSAGE_ID_LENGTH_MAX = 24;

export interface FileCollection {
  /** Our attempt id: the end-to-end id the bank reports back. */
  end_to_end_id: string;
  scheme: "sepa_core" | "sepa_b2b";
  sequence_type: "FRST" | "RCUR" | "OOFF" | "FNAL";
  /** Minor units of EUR. */
  amount: number;
  mandate_reference: string;
  mandate_signed_ms: number;
  debtor_name: string;
  debtor_iban: string;
  debtor_bic?: string;
  remittance?: string;
}

export interface CollectionBatch {
  /** At most MESSAGE_ID_LENGTH_MAX characters: the writer derives the block and instruction ids (Max35Text) from it. */
  message_id: string;
  created_ms: number;
  /** YYYY-MM-DD. */
  collection_date: string;
  collections: FileCollection[];
}

/** SEPA ids allow letters, digits and + ? / - : ( ) . , ' and space: our `_` becomes `-`. */
export function sepaId(id: string): string {
  return id.replaceAll("_", "-").slice(0, 35);
}

/** "4990" minor units → 49.9 for the writer, which prints two decimals; exact for every amount it accepts. */
function euros(minor: number): number {
  assert(Number.isSafeInteger(minor) && minor > 0 && minor <= 99_999_999_999, "a collection amount is a positive integer of cents within SEPA's maximum");
  return Number(`${Math.floor(minor / 100)}.${String(minor % 100).padStart(2, "0")}`);
}

function formatCents(total: bigint): string {
  return `${total / 100n}.${(total % 100n).toString().padStart(2, "0")}`;
}

export function buildPain008(batch: CollectionBatch): string {
  assert(batch.collections.length >= 1 && batch.collections.length <= BATCH_COLLECTIONS_MAX, "a collection file has 1 to BATCH_COLLECTIONS_MAX collections");
  assert(batch.message_id.length >= 1 && batch.message_id.length <= MESSAGE_ID_LENGTH_MAX, "a message id fits with its derived ids in 35 characters");
  const doc = new SepaDocument(PAIN_008_FORMAT);
  doc.grpHdr.id = sepaId(batch.message_id);
  doc.grpHdr.created = new Date(batch.created_ms);
  doc.grpHdr.initiatorName = CREDITOR_NAME;
  const groups = new Map<string, FileCollection[]>();
  for (const collection of batch.collections) {
    const key = `${collection.scheme}/${collection.sequence_type}`;
    groups.set(key, [...(groups.get(key) ?? []), collection]);
  }
  for (const [key, collections] of groups) {
    const [scheme, sequence_type] = key.split("/") as [FileCollection["scheme"], FileCollection["sequence_type"]];
    const info = doc.createPaymentInfo();
    info.collectionDate = new Date(`${batch.collection_date}T00:00:00Z`);
    info.localInstrumentation = scheme === "sepa_b2b" ? "B2B" : "CORE";
    info.sequenceType = sequence_type;
    info.creditorIBAN = CREDITOR_ACCOUNT.iban;
    info.creditorBIC = CREDITOR_ACCOUNT.bic;
    info.creditorName = CREDITOR_NAME;
    info.creditorId = CREDITOR_ID;
    info.batchBooking = true;
    doc.addPaymentInfo(info);
    for (const collection of collections) {
      const tx = info.createTransaction();
      tx.debtorName = collection.debtor_name.slice(0, 70);
      tx.debtorIBAN = collection.debtor_iban;
      if (collection.debtor_bic) tx.debtorBIC = collection.debtor_bic;
      tx.mandateId = collection.mandate_reference;
      tx.mandateSignatureDate = new Date(new Date(collection.mandate_signed_ms).toISOString().slice(0, 10));
      tx.amount = euros(collection.amount);
      tx.currency = "EUR";
      tx.end2endId = sepaId(collection.end_to_end_id);
      tx.remittanceInfo = (collection.remittance ?? collection.end_to_end_id).slice(0, 140);
      info.addTransaction(tx);
    }
  }
  const xml = doc.toString();
  const total = batch.collections.reduce((sum, collection) => sum + BigInt(collection.amount), 0n);
  assert(xml.includes(`<CtrlSum>${formatCents(total)}</CtrlSum>`), "the file's control sum is the exact sum of its collections");
  return xml;
}

/** A merchant's SEPA collections submitted on `collection_date` (YYYY-MM-DD), as one pain.008 file; undefined when there are none. */
export async function sepaBatchFile(db: Queryable, merchant_id: string, collection_date: string): Promise<string | undefined> {
  const rows = await db.all<Record<string, unknown>>(
    `SELECT d.attempt_id AS attempt_id, d.payment_id AS payment_id, d.sequence_type AS sequence_type, d.amount AS amount, d.created_ms AS created_ms,
            m.scheme AS scheme, m.reference AS reference, m.accepted_ms AS accepted_ms, m.account_holder_name AS name, m.iban AS iban, m.bic AS bic
       FROM debits d JOIN mandates m ON m.id = d.mandate_id
      WHERE d.merchant_id = ? AND d.collection_date = ? AND m.scheme IN ('sepa_core', 'sepa_b2b') AND d.status <> 'failed'
      ORDER BY d.attempt_id LIMIT ?`,
    [merchant_id, collection_date, BATCH_COLLECTIONS_MAX],
  );
  if (rows.length === 0) return undefined;
  return buildPain008({
    message_id: `DD${collection_date.replaceAll("-", "")}${merchant_id.slice(-8).toUpperCase()}`,
    created_ms: Date.now(),
    collection_date,
    collections: rows.map((row) => ({
      end_to_end_id: row.attempt_id as string,
      scheme: row.scheme as FileCollection["scheme"],
      sequence_type: row.sequence_type as FileCollection["sequence_type"],
      amount: toSafeNumber(row.amount),
      mandate_reference: row.reference as string,
      mandate_signed_ms: toSafeNumber(row.accepted_ms),
      debtor_name: row.name as string,
      debtor_iban: row.iban as string,
      ...(row.bic ? { debtor_bic: row.bic as string } : {}),
      remittance: row.payment_id as string,
    })),
  });
}
