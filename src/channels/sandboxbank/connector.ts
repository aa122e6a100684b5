// sandboxbank connector: opening collections, inquiring them, reading its notifications. Wire
// shapes live in transformers.ts.
import type { CollectionCapabilities, CollectionConnector } from "../contract.ts";
import type { Transport } from "../transport.ts";
import { CHANNEL, inquiryOutcome, openOutcome, parseSandboxBankNotification, toCollectionBody } from "./transformers.ts";

export const sandboxBankCapabilities: CollectionCapabilities = { countries: { ID: "IDR", MX: "MXN", BR: "BRL" } };

export interface SandboxBankConnectorOptions {
  transport: Transport;
  timeout_ms: number;
  notification_secret: string;
}

export function createSandboxBankConnector(options: SandboxBankConnectorOptions): CollectionConnector {
  const { transport, timeout_ms, notification_secret } = options;
  return {
    name: CHANNEL,
    collection_capabilities: sandboxBankCapabilities,
    async openCollection(request) {
      return openOutcome(await transport.request({ method: "POST", path: "/collections", body: JSON.stringify(toCollectionBody(request)), timeout_ms }));
    },
    async inquireCollection(reference) {
      return inquiryOutcome(await transport.request({ method: "GET", path: `/collections/${encodeURIComponent(reference)}`, timeout_ms }));
    },
    parseNotification(headers, raw_body) {
      return parseSandboxBankNotification(headers, raw_body, notification_secret);
    },
  };
}
