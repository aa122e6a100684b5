// localacq connector: the ISO 8583 exchanges of each flow. Wire shapes live in transformers.ts.
import type { ChannelCapabilities, Connector } from "../contract.ts";
import type { Transport } from "../transport.ts";
import {
  CHANNEL,
  PROCESSING_REFUND,
  authorizeOutcome,
  channelCurrency,
  createStanCounter,
  inquiryOutcome,
  localAcqCurrencies,
  moneyOutcome,
  readAnswer,
  refusedLocally,
  toAmountField,
  toAuthorizationMessage,
  toLinkedMessage,
  type IsoMessage,
} from "./transformers.ts";

export const localAcqCapabilities: ChannelCapabilities = {
  methods: ["card"],
  brands: ["visa", "mastercard", "elo", "hipercard", "rupay", "mir", "troy", "verve", "maestro"],
  currencies: localAcqCurrencies,
  countries: "*",
  partial_capture: true,
  refund: true,
  partial_refund: true,
  three_ds: false,
};

export interface LocalAcqConnectorOptions {
  transport: Transport;
  timeout_ms: number;
}

export function createLocalAcqConnector(options: LocalAcqConnectorOptions): Connector {
  const { transport, timeout_ms } = options;
  const nextStan = createStanCounter();
  const exchange = async (message: IsoMessage) =>
    readAnswer(await transport.request({ method: "POST", path: "/iso8583", body: JSON.stringify(message), timeout_ms }), message);

  return {
    name: CHANNEL,
    capabilities: localAcqCapabilities,
    async authorize(request) {
      const currency = channelCurrency(request.currency);
      if (!currency) return refusedLocally(`localacq does not settle ${request.currency}`);
      const amount_field = toAmountField(request.amount, currency);
      if (!amount_field) return refusedLocally(`${request.amount} minor units of ${currency.iso.code} are not representable at localacq`);
      return authorizeOutcome(await exchange(toAuthorizationMessage(request, amount_field, currency, nextStan())), request.capture);
    },
    async capture({ channel_reference, reference, amount, currency: code }) {
      const currency = channelCurrency(code);
      const amount_field = currency && toAmountField(amount, currency);
      if (!currency || !amount_field) return refusedLocally(`${amount} minor units of ${code} are not representable at localacq`);
      const message = toLinkedMessage("0220", { reference, original_rrn: channel_reference, stan: nextStan(), currency, amount_field });
      return moneyOutcome(await exchange(message));
    },
    async void({ channel_reference, reference, currency: code }) {
      const currency = channelCurrency(code);
      if (!currency) return refusedLocally(`localacq does not settle ${code}`);
      return moneyOutcome(await exchange(toLinkedMessage("0400", { reference, original_rrn: channel_reference, stan: nextStan(), currency })));
    },
    async refund({ channel_reference, reference, amount, currency: code }) {
      const currency = channelCurrency(code);
      const amount_field = currency && toAmountField(amount, currency);
      if (!currency || !amount_field) return refusedLocally(`${amount} minor units of ${code} are not representable at localacq`);
      const message = toLinkedMessage("0200", { reference, original_rrn: channel_reference, stan: nextStan(), currency, amount_field, processing: PROCESSING_REFUND });
      return moneyOutcome(await exchange(message));
    },
    async inquire(reference, currency) {
      return inquiryOutcome(await transport.request({ method: "GET", path: `/transactions?ref=${encodeURIComponent(reference)}`, timeout_ms }), currency);
    },
    parseNotification() {
      return { verified: false, reason: "localacq sends no notifications for cards" };
    },
  };
}
