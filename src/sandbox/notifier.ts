// Signed, retried, fire-and-forget notifications from a sandbox channel to its merchant.
import { createHmac } from "node:crypto";
import { delay } from "./types.ts";

export const NOTIFICATION_MAX_ATTEMPTS = 5;
export const NOTIFICATION_BASE_BACKOFF_MS = 250;
export const NOTIFICATION_REQUEST_TIMEOUT_MS = 5_000;

export interface SignedNotification {
  url: string;
  body: string;
  /** Header name and value carrying the signature. */
  signature_header: string;
  signature: string;
}

/** `t=<unix>,v1=<hex HMAC-SHA256 of "t.body">`. */
export function signPayload(secret: string, body: string, unix_seconds: number = Math.floor(Date.now() / 1000)): string {
  const mac = createHmac("sha256", secret).update(`${unix_seconds}.${body}`).digest("hex");
  return `t=${unix_seconds},v1=${mac}`;
}

/** Sends in the background; resolves true once delivered, false after the last failed attempt. */
export async function deliverNotification(notification: SignedNotification): Promise<boolean> {
  for (let attempt = 0; attempt < NOTIFICATION_MAX_ATTEMPTS; attempt += 1) {
    if (attempt > 0) await delay(NOTIFICATION_BASE_BACKOFF_MS * 2 ** (attempt - 1));
    if (await postOnce(notification)) return true;
  }
  return false;
}

async function postOnce(notification: SignedNotification): Promise<boolean> {
  try {
    const response = await fetch(notification.url, {
      method: "POST",
      headers: { "content-type": "application/json", [notification.signature_header]: notification.signature },
      body: notification.body,
      signal: AbortSignal.timeout(NOTIFICATION_REQUEST_TIMEOUT_MS),
    });
    await response.arrayBuffer();
    return response.ok;
  } catch {
    return false;
  }
}
