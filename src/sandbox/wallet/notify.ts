// The sandbox wallet's notifications to its merchant: signed (signing.ts), retried with backoff a
// bounded number of times, in the background. Sandbox controls: drop (never sent), duplicate (sent
// twice), and a delay before the first try.
import { randomBytes, type KeyObject } from "node:crypto";
import { delay } from "../types.ts";
import { signWalletNotification } from "./signing.ts";

export type NotifyMode = "send" | "drop" | "duplicate";

export const WALLET_NOTIFY_ATTEMPTS_MAX = 5;
export const WALLET_NOTIFY_BACKOFF_MS = 250;
export const WALLET_NOTIFY_TIMEOUT_MS = 5_000;

export interface WalletNotice {
  url: string;
  key: KeyObject;
  client_id: string;
  payload: Record<string, unknown>;
  mode: NotifyMode;
  delay_ms: number;
}

/** Resolves once delivered (true) or after the last failed try (false); `drop` sends nothing. */
export async function sendWalletNotification(notice: WalletNotice): Promise<boolean> {
  if (notice.mode === "drop") return false;
  if (notice.delay_ms > 0) await delay(notice.delay_ms);
  // One notice, one notify_id: a duplicate is the same notice delivered again.
  const body = JSON.stringify({ ...notice.payload, notify_id: `ntf_${randomBytes(8).toString("hex")}` });
  const delivered = await deliver(notice, body);
  if (notice.mode === "duplicate") return (await deliver(notice, body)) && delivered;
  return delivered;
}

async function deliver(notice: WalletNotice, body: string): Promise<boolean> {
  for (let attempt = 0; attempt < WALLET_NOTIFY_ATTEMPTS_MAX; attempt++) {
    if (attempt > 0) await delay(WALLET_NOTIFY_BACKOFF_MS * 2 ** (attempt - 1));
    if (await postOnce(notice, body)) return true;
  }
  return false;
}

async function postOnce(notice: WalletNotice, body: string): Promise<boolean> {
  const headers = signWalletNotification(notice.key, new URL(notice.url).pathname, notice.client_id, new Date().toISOString(), body);
  try {
    const response = await fetch(notice.url, {
      method: "POST", headers: { "content-type": "application/json", ...headers }, body, signal: AbortSignal.timeout(WALLET_NOTIFY_TIMEOUT_MS),
    });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}
