// How the sandbox wallet signs its notifications (Alipay+ style, with Ed25519 instead of RSA):
//   headers  client-id: <client id>, request-time: <ISO 8601>,
//            signature: algorithm=Ed25519,keyVersion=1,signature=<base64url signature>
//   signed   "POST <notify path>\n<client-id>.<request-time>.<body>"
// Corridor holds the wallet's public key only (see src/channels/sandboxwallet/transformers.ts).
import { createHash, createPrivateKey, createPublicKey, sign, type KeyObject } from "node:crypto";

export const SWALLET_CLIENT_ID = "SANDBOX_WALLET";
/** The sandbox's well-known key: a fixed 32-byte seed (hex), public in this repository by design. */
export const DEFAULT_SWALLET_SEED = createHash("sha256").update("corridor sandbox wallet signing key v1").digest("hex");

// DER prefix of a PKCS#8 Ed25519 private key, followed by the 32-byte seed.
const pkcs8Ed25519Prefix = Buffer.from("302e020100300506032b657004220420", "hex");

export function loadSigningKey(seed_hex: string): KeyObject {
  const seed = Buffer.from(seed_hex, "hex");
  if (seed.length !== 32) throw new Error("the wallet signing seed must be 32 bytes of hex");
  return createPrivateKey({ key: Buffer.concat([pkcs8Ed25519Prefix, seed]), format: "der", type: "pkcs8" });
}

/** The public key Corridor is given, as base64 SPKI DER. */
export function publicKeyOf(key: KeyObject): string {
  return createPublicKey(key).export({ type: "spki", format: "der" }).toString("base64");
}

export function canonicalString(path: string, client_id: string, request_time: string, body: string): string {
  return `POST ${path}\n${client_id}.${request_time}.${body}`;
}

export function signWalletNotification(key: KeyObject, path: string, client_id: string, request_time: string, body: string): Record<string, string> {
  const signature = sign(null, Buffer.from(canonicalString(path, client_id, request_time, body)), key).toString("base64url");
  return { "client-id": client_id, "request-time": request_time, signature: `algorithm=Ed25519,keyVersion=1,signature=${signature}` };
}
