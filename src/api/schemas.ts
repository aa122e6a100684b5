// Request schemas: the same TypeBox schemas validate requests and generate the OpenAPI document.
import { Type, type Static, type TSchema } from "@sinclair/typebox";
import { limits } from "../limits.ts";

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

export const ReturnUrl = Type.String({ format: "uri", maxLength: 2048, pattern: "^https?://" });

export const CreatePaymentBody = Type.Object(
  {
    amount: Amount,
    currency: CurrencyCode,
    payment_method_data: Type.Optional(PaymentMethodData),
    capture_method: Type.Optional(StringEnum(["automatic", "manual"] as const)),
    confirm: Type.Optional(Type.Boolean()),
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

export const CreateRefundBody = Type.Object(
  {
    payment: Id,
    amount: Type.Optional(Amount),
    reason: Type.Optional(StringEnum(["duplicate", "fraudulent", "requested_by_customer"] as const)),
    metadata: Type.Optional(Metadata),
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
