// The card vault: the PAN is stored only encrypted (AES-256-GCM) under a key id (PCI DSS 3.5.1);
// the CVC is never stored (3.3.1). A keyed fingerprint (HMAC-SHA256) identifies a card without
// revealing it.
import { createCipheriv, createDecipheriv, createHmac, hkdfSync, randomBytes } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { newId } from "../../ids.ts";
import { assert } from "../../limits.ts";
import type { Queryable, Tx } from "../../store/db.ts";

export interface VaultKeys {
  active_key_id: string;
  keys: Map<string, Buffer>;
}

/** Parses `kid:base64key[,kid:base64key…]`; the first key encrypts, all decrypt. */
export function parseVaultKeys(spec: string): VaultKeys {
  const keys = new Map<string, Buffer>();
  for (const part of spec.split(",")) {
    const [id, encoded] = part.split(":");
    const key = Buffer.from(encoded ?? "", "base64");
    if (!id || key.length !== 32) throw new Error("CORRIDOR_VAULT_KEYS must be kid:base64(32 bytes)[,…]");
    keys.set(id, key);
  }
  const active_key_id = spec.split(":")[0];
  return { active_key_id, keys };
}

export function generateVaultKeySpec(): string {
  return `k${Date.now().toString(36)}:${randomBytes(32).toString("base64")}`;
}

/** The embedded default keeps a generated key file beside the database (owner-only permissions). */
export function loadOrCreateVaultKeyFile(path: string): string {
  if (existsSync(path)) return readFileSync(path, "utf8").trim();
  mkdirSync(dirname(path), { recursive: true });
  const spec = generateVaultKeySpec();
  writeFileSync(path, spec + "\n", { mode: 0o600 });
  return spec;
}

export class Vault {
  private readonly fingerprintKey: Buffer;

  constructor(private readonly keys: VaultKeys) {
    const active = keys.keys.get(keys.active_key_id);
    assert(active, "the active vault key exists");
    this.fingerprintKey = Buffer.from(hkdfSync("sha256", active, Buffer.alloc(0), "corridor card fingerprint", 32));
  }

  fingerprint(pan: string): string {
    return createHmac("sha256", this.fingerprintKey).update(pan).digest("base64url").slice(0, 22);
  }

  async store(
    tx: Tx,
    input: {
      merchant_id: string; pan: string; brand: string; exp_month: number; exp_year: number;
      /** Issuer facts from the BIN table at the time of vaulting (routing and metrics read them). */
      bin_country: string | null; issuer?: string | null; funding?: string | null;
    },
  ): Promise<{ id: string; fingerprint: string }> {
    const id = newId("card");
    const fingerprint = this.fingerprint(input.pan);
    const sealed = this.seal(id, input.pan);
    await tx.run(
      `INSERT INTO vault_cards (id, merchant_id, key_id, iv, ciphertext, auth_tag, fingerprint, bin, last4, brand, exp_month, exp_year,
         bin_country, issuer, funding, created_ms)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      [
        id, input.merchant_id, sealed.key_id, sealed.iv, sealed.ciphertext, sealed.auth_tag, fingerprint, input.pan.slice(0, 6), input.pan.slice(-4),
        input.brand, input.exp_month, input.exp_year, input.bin_country, input.issuer ?? null, input.funding ?? null, Date.now(),
      ],
    );
    return { id, fingerprint };
  }

  async reveal(db: Queryable, card_id: string): Promise<string> {
    const row = await db.get<{ key_id: string; iv: string; ciphertext: string; auth_tag: string }>(
      "SELECT key_id, iv, ciphertext, auth_tag FROM vault_cards WHERE id = ?",
      [card_id],
    );
    assert(row, `vault card ${card_id} exists`);
    return this.open(card_id, row);
  }

  /** The key id new cards are encrypted under. */
  get active_key_id(): string {
    return this.keys.active_key_id;
  }

  /** Key ids this vault can decrypt (the active one first). */
  keyIds(): string[] {
    return [this.keys.active_key_id, ...[...this.keys.keys.keys()].filter((id) => id !== this.keys.active_key_id)];
  }

  /** Encrypts a PAN under the active key; the card id is the additional authenticated data. */
  seal(card_id: string, pan: string): SealedPan {
    const iv = randomBytes(12);
    const cipher = createCipheriv("aes-256-gcm", this.keys.keys.get(this.keys.active_key_id)!, iv);
    cipher.setAAD(Buffer.from(card_id));
    const ciphertext = Buffer.concat([cipher.update(pan, "utf8"), cipher.final()]);
    return {
      key_id: this.keys.active_key_id,
      iv: iv.toString("base64"),
      ciphertext: ciphertext.toString("base64"),
      auth_tag: cipher.getAuthTag().toString("base64"),
    };
  }

  /** Decrypts a stored PAN under whichever loaded key it names (authenticated against the card id). */
  open(card_id: string, sealed: SealedPan): string {
    const key = this.keys.keys.get(sealed.key_id);
    assert(key, `vault key ${sealed.key_id} is loaded`);
    const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(sealed.iv, "base64"));
    decipher.setAAD(Buffer.from(card_id));
    decipher.setAuthTag(Buffer.from(sealed.auth_tag, "base64"));
    return Buffer.concat([decipher.update(Buffer.from(sealed.ciphertext, "base64")), decipher.final()]).toString("utf8");
  }
}

/** A PAN as stored: AES-256-GCM under `key_id`, base64 fields. */
export interface SealedPan {
  key_id: string;
  iv: string;
  ciphertext: string;
  auth_tag: string;
}
