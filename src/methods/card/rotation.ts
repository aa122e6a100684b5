// Vault key rotation without downtime. With `CORRIDOR_VAULT_KEYS=new:…,old:…` the new key encrypts
// and every listed key decrypts, so the API keeps working the moment it restarts with a new key.
// Rotation then re-encrypts the cards still under an old key: a bounded batch of ids is read, and
// each card is re-encrypted in its own short transaction (read, decrypt, re-encrypt, compare-and-set
// on the key id), so payments keep flowing and two rotations running at once never clash.
// Idempotent: a card already under the active key is left alone; a second run rotates nothing.
import type { Db } from "../../store/db.ts";
import { toSafeNumber } from "../../store/db.ts";
import type { SealedPan, Vault } from "./vault.ts";

/** Cards read per batch, and cards re-encrypted per call unless the caller asks for fewer. */
export const rotationBatchMax = 200;
export const rotationPerCallDefault = 5_000;
export const rotationPerCallMax = 100_000;

export interface RotationResult {
  object: "vault_rotation";
  /** Cards re-encrypted under the active key by this call. */
  rotated: number;
  /** Cards still under another key after this call (call again while it is above 0). */
  remaining: number;
  active_key_id: string;
  /** Cards under a key id this process does not have (they cannot be rotated here). */
  unknown_key_cards: number;
}

async function rotateOne(db: Db, vault: Vault, card_id: string, loaded_old: readonly string[]): Promise<boolean> {
  return db.transaction(async (tx) => {
    const row = await tx.get<SealedPan>(`SELECT key_id, iv, ciphertext, auth_tag FROM vault_cards WHERE id = ? ${tx.forUpdate}`, [card_id]);
    if (!row || row.key_id === vault.active_key_id || !loaded_old.includes(row.key_id)) return false;
    const pan = vault.open(card_id, row);
    const sealed = vault.seal(card_id, pan);
    const updated = await tx.run(
      "UPDATE vault_cards SET key_id = ?, iv = ?, ciphertext = ?, auth_tag = ? WHERE id = ? AND key_id = ?",
      [sealed.key_id, sealed.iv, sealed.ciphertext, sealed.auth_tag, card_id, row.key_id],
    );
    return updated.changes === 1;
  });
}

/**
 * Re-encrypts up to `max_cards` cards still under an old (loaded) key with the active key, in
 * batches of `rotationBatchMax` ids, one short transaction per card.
 */
export async function rotateVaultKeys(db: Db, vault: Vault, options: { max_cards?: number } = {}): Promise<RotationResult> {
  const active = vault.active_key_id;
  const loaded_old = vault.keyIds().filter((id) => id !== active);
  const budget = Math.min(Math.max(options.max_cards ?? rotationPerCallDefault, 1), rotationPerCallMax);
  let rotated = 0;
  let after = "";
  if (loaded_old.length > 0) {
    const marks = loaded_old.map(() => "?").join(", ");
    for (let batch = 0; rotated < budget && batch * rotationBatchMax < rotationPerCallMax; batch++) {
      const ids = await db.all<{ id: string }>(
        `SELECT id FROM vault_cards WHERE key_id IN (${marks}) AND id > ? ORDER BY id LIMIT ?`,
        [...loaded_old, after, Math.min(rotationBatchMax, budget - rotated)],
      );
      if (ids.length === 0) break;
      for (const { id } of ids) {
        if (await rotateOne(db, vault, id, loaded_old)) rotated++;
      }
      after = ids[ids.length - 1].id;
    }
  }
  const counts = await db.all<{ key_id: string; n: unknown }>(
    "SELECT key_id, COUNT(*) AS n FROM vault_cards WHERE key_id <> ? GROUP BY key_id",
    [active],
  );
  let remaining = 0;
  let unknown_key_cards = 0;
  for (const { key_id, n } of counts) {
    remaining += toSafeNumber(n);
    if (!loaded_old.includes(key_id)) unknown_key_cards += toSafeNumber(n);
  }
  return { object: "vault_rotation", rotated, remaining, active_key_id: active, unknown_key_cards };
}
