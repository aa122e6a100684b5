// Brazil Pix "copia e cola": the EMV QR payload (BR Code). Each field is ID (2 digits) + length
// (2 digits) + value; tag 63 closes with the CRC16-CCITT-FALSE of everything before it, "6304"
// included, as 4 upper-case hex digits.

/** CRC16-CCITT-FALSE: polynomial 0x1021, initial 0xFFFF, no reflection, no final XOR. */
export function crc16ccittFalse(text: string): number {
  let crc = 0xffff;
  for (const byte of Buffer.from(text, "utf8")) {
    crc ^= byte << 8;
    for (let bit = 0; bit < 8; bit++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
  }
  return crc;
}

function field(id: string, value: string): string {
  const length = Buffer.byteLength(value, "utf8");
  if (length > 99) throw new Error(`programmer error: EMV field ${id} longer than 99 bytes`);
  return id + String(length).padStart(2, "0") + value;
}

export const PIX_GUI = "BR.GOV.BCB.PIX";
export const TXID_PATTERN = /^[a-zA-Z0-9]{26,35}$/;

export interface PixCharge {
  /** The receiver's Pix key (e-mail, phone, CPF/CNPJ or random EVP key). */
  key: string;
  /** Minor units of BRL (centavos). */
  amount: number;
  merchant_name: string;
  merchant_city: string;
  txid: string;
}

/** ASCII upper case without accents, cut to `max` characters (tags 59 and 60). */
function plain(text: string, max: number): string {
  return text.normalize("NFD").replace(/[^\x20-\x7e]/g, "").toUpperCase().slice(0, max).trim();
}

export function buildPixPayload(charge: PixCharge): string {
  if (!TXID_PATTERN.test(charge.txid)) throw new Error("programmer error: a Pix txid is 26 to 35 letters and digits");
  if (!Number.isSafeInteger(charge.amount) || charge.amount <= 0) throw new Error("programmer error: a Pix amount is positive");
  const amount = `${Math.floor(charge.amount / 100)}.${String(charge.amount % 100).padStart(2, "0")}`;
  const payload =
    field("00", "01") +
    field("01", "12") + // single use
    field("26", field("00", PIX_GUI) + field("01", charge.key)) +
    field("52", "0000") +
    field("53", "986") +
    field("54", amount) +
    field("58", "BR") +
    field("59", plain(charge.merchant_name, 25)) +
    field("60", plain(charge.merchant_city, 15)) +
    field("62", field("05", charge.txid)) +
    "6304";
  return payload + crc16ccittFalse(payload).toString(16).toUpperCase().padStart(4, "0");
}

/** Parses one level of EMV fields; undefined when malformed. */
export function parseEmv(payload: string): Map<string, string> | undefined {
  const fields = new Map<string, string>();
  let offset = 0;
  while (offset < payload.length) {
    const id = payload.slice(offset, offset + 2);
    const length = Number(payload.slice(offset + 2, offset + 4));
    if (!/^[0-9]{2}$/.test(id) || !Number.isInteger(length) || offset + 4 + length > payload.length) return undefined;
    fields.set(id, payload.slice(offset + 4, offset + 4 + length));
    offset += 4 + length;
  }
  return fields;
}

/** Whether the payload's tag 63 is the CRC16 of everything before it. */
export function hasValidPixCrc(payload: string): boolean {
  if (payload.length < 8 || payload.slice(-8, -4) !== "6304") return false;
  return crc16ccittFalse(payload.slice(0, -4)).toString(16).toUpperCase().padStart(4, "0") === payload.slice(-4).toUpperCase();
}

/** A txid for a payment id (letters and digits only, 26 to 35 of them). */
export function txidFor(payment_id: string): string {
  const txid = payment_id.replace(/[^a-zA-Z0-9]/g, "").slice(0, 35).padEnd(26, "0");
  return txid;
}
