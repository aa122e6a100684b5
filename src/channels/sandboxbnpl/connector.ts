// sandboxbnpl connector: checkouts (create, inquire, cancel), refunds, and its signed notifications.
// Wire shapes live in transformers.ts.
import type { BnplConnector } from "../contract.ts";
import type { Transport } from "../transport.ts";
import {
  CHANNEL, PROVIDER, cancelOutcome, checkoutRecord, createOutcome, parseSandboxBnplNotification, refundOutcome, refundRecord,
  toCheckoutBody, toRefundBody,
} from "./transformers.ts";

export interface SandboxBnplConnectorOptions {
  transport: Transport;
  timeout_ms: number;
  notification_secret: string;
}

export function createSandboxBnplConnector(options: SandboxBnplConnectorOptions): BnplConnector {
  const { transport, timeout_ms, notification_secret } = options;
  const path = (reference: string) => `/checkouts/${encodeURIComponent(reference)}`;
  return {
    name: CHANNEL,
    provider: PROVIDER,
    async createCheckout(request) {
      return createOutcome(await transport.request({ method: "POST", path: "/checkouts", body: JSON.stringify(toCheckoutBody(request)), timeout_ms }));
    },
    async inquireCheckout(reference, currency) {
      return checkoutRecord(await transport.request({ method: "GET", path: path(reference), timeout_ms }), currency);
    },
    async cancelCheckout(reference) {
      return cancelOutcome(await transport.request({ method: "POST", path: `${path(reference)}/cancel`, body: "{}", timeout_ms }));
    },
    async refund(input) {
      return refundOutcome(await transport.request({ method: "POST", path: "/refunds", body: JSON.stringify(toRefundBody(input)), timeout_ms }));
    },
    async inquireRefund({ reference }) {
      return refundRecord(await transport.request({ method: "GET", path: `/refunds/${encodeURIComponent(reference)}`, timeout_ms }));
    },
    parseBnplNotification(headers, raw_body) {
      return parseSandboxBnplNotification(headers, raw_body, notification_secret);
    },
  };
}
