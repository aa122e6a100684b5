// Prefixed, time-ordered ids (ULID layout: 48-bit millisecond time + 80 random bits, Crockford
// base32), so that ordering by id is ordering by creation time for cursor pagination.
import { randomFillSync } from "node:crypto";

const alphabet = "0123456789abcdefghjkmnpqrstvwxyz";

export type IdPrefix =
  | "mer" | "key" | "pay" | "att" | "op" | "re" | "card" | "evt" | "we" | "whd"
  | "acct" | "tr" | "rc" | "chh" | "dp" | "md" | "va"
  | "sfile" | "sbatch" | "bent" | "rex" | "rrun";

function encodeTime(ms: number): string {
  let out = "";
  let rest = ms;
  for (let i = 0; i < 10; i++) {
    out = alphabet[rest % 32] + out;
    rest = Math.floor(rest / 32);
  }
  return out;
}

function encodeRandom(bytes: Buffer): string {
  let out = "";
  for (const byte of bytes) out += alphabet[byte % 32];
  return out;
}

// One system call fills many ids' worth of randomness (ids are made many times per payment).
const randomPoolBytes = 4096;
const randomBytesPerId = 16;
const randomPool = Buffer.alloc(randomPoolBytes);
let randomOffset = randomPoolBytes;

function nextRandom(): Buffer {
  if (randomOffset + randomBytesPerId > randomPoolBytes) {
    randomFillSync(randomPool);
    randomOffset = 0;
  }
  const slice = randomPool.subarray(randomOffset, randomOffset + randomBytesPerId);
  randomOffset += randomBytesPerId;
  return slice;
}

export function newId(prefix: IdPrefix): string {
  return `${prefix}_${encodeTime(Date.now())}${encodeRandom(nextRandom())}`;
}

export function hasPrefix(id: unknown, prefix: IdPrefix): id is string {
  return typeof id === "string" && id.startsWith(`${prefix}_`) && id.length <= 64;
}
