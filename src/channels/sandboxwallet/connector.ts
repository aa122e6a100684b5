// sandboxwallet connector: orders (create, inquire, close), refunds to the wallet, and reading its
// signed notifications. Wire shapes live in transformers.ts.
import type { WalletConnector } from "../contract.ts";
import type { Transport } from "../transport.ts";
import {
  CHANNEL, closeOutcome, createOutcome, orderRecord, parseSandboxWalletNotification, refundOutcome, refundRecord,
  SANDBOX_WALLET_PUBLIC_KEY, toOrderBody, toRefundBody, walletPublicKey,
} from "./transformers.ts";

export const sandboxWalletProviders = ["gcash", "maya", "dana", "ovo", "shopeepay", "grabpay", "paypay", "alipay_plus"] as const;

export interface SandboxWalletConnectorOptions {
  transport: Transport;
  timeout_ms: number;
  /** The wallet's Ed25519 public key (base64 SPKI DER); the sandbox's well-known key by default. */
  public_key?: string;
}

export function createSandboxWalletConnector(options: SandboxWalletConnectorOptions): WalletConnector {
  const { transport, timeout_ms } = options;
  const key = walletPublicKey(options.public_key ?? SANDBOX_WALLET_PUBLIC_KEY);
  const path = (reference: string) => encodeURIComponent(reference);
  return {
    name: CHANNEL,
    providers: sandboxWalletProviders,
    async createOrder(request) {
      return createOutcome(await transport.request({ method: "POST", path: "/v1/orders", body: JSON.stringify(toOrderBody(request)), timeout_ms }));
    },
    async inquireOrder(reference) {
      return orderRecord(await transport.request({ method: "GET", path: `/v1/orders/${path(reference)}`, timeout_ms }));
    },
    async closeOrder(reference) {
      return closeOutcome(await transport.request({ method: "POST", path: `/v1/orders/${path(reference)}/close`, body: "{}", timeout_ms }));
    },
    async refund(input) {
      return refundOutcome(await transport.request({ method: "POST", path: "/v1/refunds", body: JSON.stringify(toRefundBody(input)), timeout_ms }));
    },
    async inquireRefund(input) {
      return refundRecord(await transport.request({ method: "GET", path: `/v1/refunds/${path(input.reference)}`, timeout_ms }));
    },
    parseNotification(headers, raw_body) {
      return parseSandboxWalletNotification(headers, raw_body, key);
    },
  };
}
