// globalpay connector: the HTTP mechanics of each flow. Wire shapes live in transformers.ts.
import type { ChannelCapabilities, Connector } from "../contract.ts";
import type { Transport } from "../transport.ts";
import {
  CHANNEL,
  authorizeOutcome,
  disputeLookupOutcome,
  evidenceOutcome,
  inquiryOutcome,
  operationOutcome,
  parseGlobalPayNotification,
  toAuthorizationBody,
  type GpOperationBody,
} from "./transformers.ts";

export const globalPayCapabilities: ChannelCapabilities = {
  methods: ["card"],
  brands: ["visa", "mastercard", "amex", "discover", "jcb", "diners", "unionpay", "maestro"],
  currencies: "*",
  countries: "*",
  partial_capture: true,
  refund: true,
  partial_refund: true,
  three_ds: true,
};

export interface GlobalPayConnectorOptions {
  transport: Transport;
  timeout_ms: number;
  notification_secret: string;
}

export function createGlobalPayConnector(options: GlobalPayConnectorOptions): Connector {
  const { transport, timeout_ms, notification_secret } = options;
  const post = (path: string, body: unknown) => transport.request({ method: "POST", path, body: JSON.stringify(body), timeout_ms });
  const operationPath = (channel_reference: string, operation: string) =>
    `/v2/authorizations/${encodeURIComponent(channel_reference)}/${operation}`;

  return {
    name: CHANNEL,
    capabilities: globalPayCapabilities,
    async authorize(request) {
      return authorizeOutcome(await post("/v2/authorizations", toAuthorizationBody(request)));
    },
    async capture({ channel_reference, reference, amount, currency }) {
      const body: GpOperationBody = { merchant_reference: reference, amount: { value: amount, currency: currency.toUpperCase() } };
      return operationOutcome(await post(operationPath(channel_reference, "captures"), body));
    },
    async void({ channel_reference, reference }) {
      const body: GpOperationBody = { merchant_reference: reference };
      return operationOutcome(await post(operationPath(channel_reference, "cancellations"), body));
    },
    async refund({ channel_reference, reference, amount, currency }) {
      const body: GpOperationBody = { merchant_reference: reference, amount: { value: amount, currency: currency.toUpperCase() } };
      return operationOutcome(await post(operationPath(channel_reference, "refunds"), body));
    },
    async inquire(reference) {
      const path = `/v2/authorizations?merchant_reference=${encodeURIComponent(reference)}`;
      return inquiryOutcome(await transport.request({ method: "GET", path, timeout_ms }));
    },
    parseNotification(headers, raw_body) {
      return parseGlobalPayNotification(headers, raw_body, notification_secret);
    },
    disputes: {
      async inquire(channel_dispute_id) {
        return disputeLookupOutcome(await transport.request({ method: "GET", path: `/v2/disputes/${encodeURIComponent(channel_dispute_id)}`, timeout_ms }));
      },
      async submitEvidence({ channel_dispute_id, evidence }) {
        return evidenceOutcome(await post(`/v2/disputes/${encodeURIComponent(channel_dispute_id)}/evidence`, { evidence }));
      },
    },
  };
}
