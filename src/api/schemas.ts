// Request schemas: the same TypeBox schemas validate requests and generate the OpenAPI document.
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { limits } from "../limits.ts";
import { describeWalletProviders, walletProviderNames } from "../methods/wallet/providers.ts";

export function StringEnum<T extends string>(values: readonly T[], options: Record<string, unknown> = {}) {
  return Type.Unsafe<T>({ type: "string", enum: [...values], ...options });
}

/** Free text: any characters but NUL, which PostgreSQL text cannot hold (it would be a 500 there). */
const noNul = "^[^\\u0000]*$";
export function Text(options: { minLength?: number; maxLength: number; description?: string }) {
  return Type.String({ ...options, pattern: noNul });
}

export const Id = Type.String({ minLength: 1, maxLength: 64, pattern: "^[a-z]+_[0-9a-z]+$" });
export const IdParams = Type.Object({ id: Id }, { additionalProperties: false });

export const Metadata = Type.Record(Type.String(), Type.String({ maxLength: limits.metadata_value_length_max }), {
  maxProperties: limits.metadata_keys_max,
  propertyNames: { minLength: 1, maxLength: limits.metadata_key_length_max },
  description: "Up to 50 string values for your own use.",
});

export const Amount = Type.Integer({ minimum: 1, maximum: limits.amount_minor_max, description: "Integer amount in the currency's minor unit." });
export const CurrencyCode = Type.String({ pattern: "^[A-Za-z]{3}$", description: "ISO 4217 code, either case; returned in lower case." });

export const CardData = Type.Object(
  {
    number: Type.String({
      minLength: 12, maxLength: 23, pattern: "^[0-9][0-9 -]*$",
      description: "The card number (PAN), 12 to 19 digits; spaces and dashes are ignored. Stored only encrypted, never returned.",
    }),
    exp_month: Type.Integer({ minimum: 1, maximum: 12 }),
    exp_year: Type.Integer({ minimum: 2000, maximum: 2100 }),
    cvc: Type.Optional(Type.String({ pattern: "^[0-9]{3,4}$" })),
  },
  { additionalProperties: false },
);

export const PaymentMethodData = Type.Object(
  { type: StringEnum(["card"] as const), card: CardData },
  { additionalProperties: false },
);

export const BankTransferData = Type.Object(
  {
    country: Type.String({ pattern: "^[A-Za-z]{2}$", description: "ID (virtual account, IDR), MX (CLABE, MXN) or BR (Pix, BRL)." }),
    bank: Type.Optional(Type.String({ pattern: "^[a-z0-9_]{1,32}$", description: "ID: bca, bni, bri, mandiri, permata; MX: stp, bbva, banamex, santander, banorte." })),
    expires_in: Type.Optional(Type.Integer({ minimum: 1, maximum: 30 * 86_400, description: "Seconds until the instructions expire (default 24 h; Pix 86 400 s)." })),
  },
  { additionalProperties: false },
);

/** E-wallets (src/methods/wallet): the provider decides the flow (redirect, app push or QR). */
export const WalletData = Type.Object(
  {
    provider: StringEnum(walletProviderNames, { description: `The wallet; it decides the flow and the currencies. ${describeWalletProviders()}.` }),
    phone: Type.Optional(Type.String({ pattern: "^\\+?[0-9]{6,15}$", description: "The wallet's phone number: required by app-push wallets (ovo), where the payment is pushed to the customer's app." })),
    expires_in: Type.Optional(Type.Integer({
      minimum: 1, maximum: 3600,
      description: "Seconds the customer has to approve (default: ovo 60, others 900; at most ovo 60, others 3600). The payment is canceled (cancellation_reason expired) after it.",
    })),
  },
  {
    additionalProperties: false,
    description: "Requires confirm: true and automatic capture. redirect wallets answer requires_action with next_action.redirect_to_url (the wallet's page); " +
      "qr wallets answer requires_action with next_action.display_qr_code {data, expires_at}; app_push wallets answer processing (no next action). " +
      "The result follows as payment.succeeded, payment.failed (last_error.type wallet_error) or payment.canceled (expired); " +
      "payment_method_details.wallet shows {provider, flow, phone (masked)} and expires_at when the customer's time runs out.",
  },
);

/** Buy now, pay later through a provider (src/methods/bnpl). */
export const BnplData = Type.Object(
  {
    provider: Type.String({ pattern: "^[a-z0-9_]{1,32}$", description: "The BNPL provider: sandbox (the sandbox provider; Corridor's own lending is not offered yet)." }),
    installments: Type.Optional(Type.Integer({
      minimum: 1, maximum: 24,
      description: "Number of installments. By currency: usd, eur, gbp, aud, cad, nzd: pay-in-4 (4, every 2 weeks, the first at checkout); brl: parcelado 1–12 (default 1), at least 5.00 BRL each; mxn: meses sin intereses 3, 6, 9 or 12 (default 3), at least 100.00 MXN each. The rounding remainder goes on the first installment.",
    })),
    expires_in: Type.Optional(Type.Integer({ minimum: 1, maximum: 86_400, description: "Seconds the customer has to finish the provider's checkout (default 1 800); then the payment is canceled (reason expired)." })),
    customer_email: Type.Optional(Type.String({
      maxLength: 254, pattern: "^[^@\\s\\u0000]+@[^@\\s\\u0000]+$",
      description: "The buyer's e-mail, passed to the provider. Sandbox test buyers (before the @): denied… is declined, timeout… never decided, refund_rejected… approved but refunds are rejected, slow… the provider's answer is late; anyone else is approved.",
    })),
  },
  {
    additionalProperties: false,
    description: "Requires confirm: true and automatic capture. Answers requires_action with next_action.redirect_to_url (the provider's checkout; the customer comes back " +
      "through /v1/payments/{id}/return to return_url). The result follows as payment.succeeded (the provider pays the amount less its fee), payment.failed " +
      "(last_error.code payment_method_provider_decline) or payment.canceled (expired). payment_method_details.bnpl shows {provider, checkout, customer_email, " +
      "plan: {type (pay_in_4, parcelado, meses_sin_intereses), interval, source (proposed until the provider approves, then provider), installments: [{sequence, amount, " +
      "amount_refunded, due_date, status (proposed, paid, scheduled, canceled, refunded)}], amount (still owed or paid after refunds), amount_refunded, fee, net_amount}}; " +
      "expires_at says when the checkout expires. Refunds reduce the plan from the last installment backwards; the provider keeps its fee.",
  },
);

/** Create accepts cards, bank transfers, wallets and BNPL: the object named by `type`. */
export const CreatePaymentMethodData = Type.Object(
  {
    type: StringEnum(["card", "bank_transfer", "wallet", "bnpl"] as const),
    card: Type.Optional(CardData),
    bank_transfer: Type.Optional(BankTransferData),
    wallet: Type.Optional(WalletData),
    bnpl: Type.Optional(BnplData),
  },
  { additionalProperties: false },
);

export const ReturnUrl = Type.String({ format: "uri", maxLength: 2048, pattern: "^https?://" });

export const CreatePaymentBody = Type.Object(
  {
    amount: Amount,
    currency: CurrencyCode,
    payment_method_data: Type.Optional(CreatePaymentMethodData),
    mandate: Type.Optional(Type.String({
      minLength: 1, maxLength: 64, pattern: "^[a-z]+_[0-9a-z]+$", description: "Direct debit: the mandate (md_...) to collect under, instead of payment_method_data.",
    })),
    capture_method: Type.Optional(StringEnum(["automatic", "manual"] as const)),
    confirm: Type.Optional(Type.Boolean()),
    amount_mismatch_policy: Type.Optional(StringEnum(["reject", "accept_partial", "accept_and_refund_excess"] as const, {
      description: "Bank transfers: what a wrong amount does. reject (default): owed back, the payment stays open; accept_partial: counted until the full amount is paid; accept_and_refund_excess: an over-payment succeeds, the excess is owed back.",
    })),
    customer: Type.Optional(Text({ minLength: 1, maxLength: 255 })),
    description: Type.Optional(Text({ maxLength: 1000 })),
    metadata: Type.Optional(Metadata),
    return_url: Type.Optional(ReturnUrl),
  },
  { additionalProperties: false },
);
export type CreatePaymentBody = Static<typeof CreatePaymentBody>;

export const ConfirmPaymentBody = Type.Object(
  { payment_method_data: Type.Optional(PaymentMethodData), return_url: Type.Optional(ReturnUrl) },
  { additionalProperties: false },
);

export const CapturePaymentBody = Type.Object(
  { amount_to_capture: Type.Optional(Amount) },
  { additionalProperties: false },
);

export const CancelPaymentBody = Type.Object(
  { cancellation_reason: Type.Optional(StringEnum(["duplicate", "fraudulent", "requested_by_customer", "abandoned"] as const)) },
  { additionalProperties: false },
);

/** Bank transfers are refunded by a payout to the customer's account (asynchronous; the refund stays pending until paid). */
export const RefundDestinationData = Type.Object(
  {
    type: StringEnum(["bank_account"] as const),
    account_holder_name: Text({ minLength: 1, maxLength: 140 }),
    country: Type.String({ pattern: "^[A-Za-z]{2}$", description: "ID, MX or BR: the country of the payment." }),
    account: Type.String({
      minLength: 1, maxLength: 77, pattern: "^[A-Za-z0-9@.+_-]+$",
      description: "ID: the bank account number (5 to 20 digits); MX: an 18-digit CLABE (valid check digit); BR: the payer's Pix key.",
    }),
    bank: Type.Optional(Type.String({ pattern: "^[a-z0-9_]{1,32}$", description: "ID: the bank code (bca, bni, bri, mandiri, permata)." })),
  },
  { additionalProperties: false, description: "Where a bank-transfer refund is paid out." },
);

export const CreateRefundBody = Type.Object(
  {
    payment: Id,
    amount: Type.Optional(Amount),
    reason: Type.Optional(StringEnum(["duplicate", "fraudulent", "requested_by_customer"] as const)),
    metadata: Type.Optional(Metadata),
    destination: Type.Optional(RefundDestinationData),
  },
  { additionalProperties: false },
);

export const ListQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ pattern: "^[0-9]{1,3}$", description: `1 to ${limits.list_page_size_max}` })),
    starting_after: Type.Optional(Id),
  },
  { additionalProperties: false },
);

export const EventListQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ pattern: "^[0-9]{1,3}$" })),
    starting_after: Type.Optional(Id),
    type: Type.Optional(Text({ maxLength: 64 })),
  },
  { additionalProperties: false },
);

export const RefundListQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ pattern: "^[0-9]{1,3}$" })),
    starting_after: Type.Optional(Id),
    payment: Type.Optional(Id),
  },
  { additionalProperties: false },
);

export const CreateMerchantBody = Type.Object(
  {
    name: Text({ minLength: 1, maxLength: 200 }),
    country: Type.String({ pattern: "^[A-Z]{2}$", description: "ISO 3166-1 alpha-2" }),
    default_currency: CurrencyCode,
  },
  { additionalProperties: false },
);

export const CreateWebhookEndpointBody = Type.Object(
  {
    url: Type.String({ format: "uri", maxLength: 2048, pattern: "^https?://" }),
    enabled_events: Type.Array(Text({ maxLength: 64 }), { minItems: 1, maxItems: 32, uniqueItems: true }),
  },
  { additionalProperties: false },
);

const ChannelList = Type.Array(Type.String({ minLength: 1, maxLength: 64 }), { maxItems: limits.routing_channels_per_rule_max });

export const RoutingConfigBody = Type.Object(
  {
    rules: Type.Array(
      Type.Object(
        {
          name: Text({ minLength: 1, maxLength: 100 }),
          conditions: Type.Object(
            {
              methods: Type.Optional(Type.Array(StringEnum(["card"] as const), { maxItems: 8 })),
              brands: Type.Optional(Type.Array(Text({ maxLength: 32 }), { maxItems: 32 })),
              currencies: Type.Optional(Type.Array(Type.String({ pattern: "^[A-Z]{3}$" }), { maxItems: 200 })),
              countries: Type.Optional(Type.Array(Type.String({ pattern: "^[A-Z]{2}$" }), { maxItems: 250 })),
              amount_min: Type.Optional(Type.Integer({ minimum: 0, maximum: limits.amount_minor_max })),
              amount_max: Type.Optional(Type.Integer({ minimum: 0, maximum: limits.amount_minor_max })),
              issuers: Type.Optional(Type.Array(Text({ maxLength: 200 }), { maxItems: 100 })),
              card_types: Type.Optional(Type.Array(Text({ maxLength: 32 }), { maxItems: 8 })),
              metadata: Type.Optional(Metadata),
            },
            { additionalProperties: false },
          ),
          channels: ChannelList,
        },
        { additionalProperties: false },
      ),
      { maxItems: limits.routing_rules_max },
    ),
    default_channels: ChannelList,
    strategy: Type.Optional(
      Type.Object(
        {
          type: StringEnum(["rules", "volume_split", "success_rate", "cost_aware"] as const, {
            description: "rules: the rules' order; volume_split: weighted draw; success_rate: Thompson sampling per segment; cost_aware: cheapest among channels within margin_bps of the best expected approval.",
          }),
          weights: Type.Optional(Type.Record(Type.String(), Type.Integer({ minimum: 0, maximum: 1_000_000 }), { maxProperties: 32 })),
          exploration_share: Type.Optional(Type.Number({ minimum: 0, maximum: 0.5 })),
          margin_bps: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000 })),
          segment_by: Type.Optional(Type.Array(StringEnum(["brand", "bin_country", "amount_band", "card_type", "issuer", "currency"] as const), { maxItems: 6, uniqueItems: true })),
          amount_bands_usd_minor: Type.Optional(Type.Array(Type.Integer({ minimum: 1, maximum: limits.amount_minor_max }), { maxItems: 8 })),
        },
        { additionalProperties: false },
      ),
    ),
    elimination: Type.Optional(
      Type.Object(
        {
          enabled: Type.Boolean(),
          failure_threshold: Type.Number({ minimum: 0, maximum: 1, description: "Share of technical failures in the window that opens a channel's circuit breaker." }),
          window: Type.Integer({ minimum: 1, maximum: 64 }),
          cooldown_ms: Type.Integer({ minimum: 0, maximum: 3_600_000 }),
          min_attempts: Type.Optional(Type.Integer({ minimum: 1, maximum: 64 })),
          window_ms: Type.Optional(Type.Integer({ minimum: 1000, maximum: 3_600_000 })),
          open_channels: Type.Optional(StringEnum(["last", "drop"] as const)),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

export const RoutingSimulationBody = Type.Object(
  {
    amount: Amount,
    currency: CurrencyCode,
    card: Type.Object({ number: CardData.properties.number }, { additionalProperties: false }),
    metadata: Type.Optional(Metadata),
  },
  { additionalProperties: false },
);

export const BinImportBody = Type.Object(
  {
    ranges: Type.Array(
      Type.Object(
        {
          prefix: Type.String({ pattern: "^[0-9]{4,11}$" }),
          country: Type.Union([Type.String({ pattern: "^[A-Z]{2}$" }), Type.Null()]),
          funding: Type.Optional(Type.Union([StringEnum(["credit", "debit", "prepaid"] as const), Type.Null()])),
          issuer: Type.Optional(Type.Union([Text({ maxLength: 200 }), Type.Null()])),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: 10_000 },
    ),
  },
  { additionalProperties: false },
);

export const VaultRotateBody = Type.Object(
  {
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000, description: "Cards to re-encrypt in this call (default 5000); call again while `remaining` is above 0." })),
  },
  { additionalProperties: false },
);

export type SchemaOf<T extends TSchema> = Static<T>;

export const DisputeEvidenceBody = Type.Object(
  {
    product_description: Type.Optional(Text({ maxLength: 20_000 })),
    customer_name: Type.Optional(Text({ maxLength: 5_000 })),
    customer_email_address: Type.Optional(Text({ maxLength: 5_000 })),
    customer_communication: Type.Optional(Text({ maxLength: 20_000 })),
    billing_address: Type.Optional(Text({ maxLength: 5_000 })),
    shipping_address: Type.Optional(Text({ maxLength: 5_000 })),
    shipping_carrier: Type.Optional(Text({ maxLength: 5_000 })),
    shipping_tracking_number: Type.Optional(Text({ maxLength: 5_000 })),
    shipping_date: Type.Optional(Text({ maxLength: 5_000 })),
    service_date: Type.Optional(Text({ maxLength: 5_000 })),
    refund_policy: Type.Optional(Text({ maxLength: 20_000 })),
    cancellation_policy: Type.Optional(Text({ maxLength: 20_000 })),
    duplicate_charge_explanation: Type.Optional(Text({ maxLength: 20_000 })),
    uncategorized_text: Type.Optional(Text({ maxLength: 20_000 })),
    submit: Type.Optional(Type.Boolean({ description: "true: send the evidence (representment); otherwise it is only saved." })),
  },
  { additionalProperties: false },
);

export const DisputeListQuery = Type.Object(
  {
    limit: Type.Optional(Type.String({ pattern: "^[0-9]{1,3}$" })),
    starting_after: Type.Optional(Id),
    payment: Type.Optional(Id),
  },
  { additionalProperties: false },
);
