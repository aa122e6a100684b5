// Request schemas of the settlement back office (admin key).
import { Type } from "@sinclair/typebox";
import { CurrencyCode, Id } from "./schemas.ts";
import { exceptionTypes } from "../settlement/exceptions.ts";

const ChannelName = Type.String({ pattern: "^[a-z0-9_]{1,32}$", description: "A settling channel: globalpay, localacq (reports) or sandboxbank (the platform bank's statements)." });
const Limit = Type.Optional(Type.String({ pattern: "^[0-9]{1,3}$" }));
const IsoDate = Type.String({ pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description: "YYYY-MM-DD (UTC)." });

export const SettlementFileBody = Type.Object(
  {
    channel: ChannelName,
    filename: Type.String({ minLength: 1, maxLength: 255, pattern: "^[^/\\\\\\u0000-\\u001f]+$", description: "The file's name as received." }),
    content: Type.String({ minLength: 1, description: "The file, as text (CSV, fixed-width clearing file or camt.053 XML)." }),
  },
  { additionalProperties: false },
);

export const SettlementFileListQuery = Type.Object(
  {
    limit: Limit,
    starting_after: Type.Optional(Id),
    channel: Type.Optional(ChannelName),
    status: Type.Optional(Type.Union([Type.Literal("imported"), Type.Literal("duplicate"), Type.Literal("rejected")])),
  },
  { additionalProperties: false },
);

export const SettlementBatchListQuery = Type.Object(
  { limit: Limit, starting_after: Type.Optional(Id), channel: Type.Optional(ChannelName) },
  { additionalProperties: false },
);

export const ReconciliationRunBody = Type.Object(
  {
    channel: Type.Optional(ChannelName),
    as_of: Type.Optional(Type.String({ maxLength: 40, description: "ISO 8601 date or date-time (UTC unless an offset is given); default now. Time checks (missing_in_report, unfunded_batch) use it." })),
  },
  { additionalProperties: false },
);

export const ExceptionListQuery = Type.Object(
  {
    limit: Limit,
    starting_after: Type.Optional(Id),
    status: Type.Optional(Type.Union([Type.Literal("open"), Type.Literal("resolved")])),
    channel: Type.Optional(ChannelName),
    type: Type.Optional(Type.Union(exceptionTypes.map((type) => Type.Literal(type)))),
  },
  { additionalProperties: false },
);

export const ResolveExceptionBody = Type.Object(
  {
    action: Type.Union([Type.Literal("accept_reported"), Type.Literal("write_off"), Type.Literal("match")], { description: "What to do; which actions fit depends on the exception's type." }),
    payment: Type.Optional(Id),
    note: Type.String({ minLength: 1, maxLength: 1000, description: "Why: kept with the resolution." }),
    operator: Type.Optional(Type.String({ minLength: 1, maxLength: 100, description: "Who resolves it (default: admin)." })),
  },
  { additionalProperties: false },
);

export const MerchantPricingBody = Type.Object(
  {
    model: Type.Union([Type.Literal("blended"), Type.Literal("interchange_plus")]),
    percent_bps: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, description: "blended: the percentage, in basis points." })),
    markup_bps: Type.Optional(Type.Integer({ minimum: 0, maximum: 10_000, description: "interchange_plus: the markup over interchange and scheme fees, in basis points." })),
    fixed_amount: Type.Integer({ minimum: 0, maximum: 1_000_000, description: "Fixed fee per settled payment, minor units of `currency`." }),
    currency: CurrencyCode,
  },
  { additionalProperties: false },
);

export const MerchantIdParams = Type.Object({ id: Id }, { additionalProperties: false });

export const MarginQuery = Type.Object(
  { channel: Type.Optional(ChannelName), from: Type.Optional(IsoDate), to: Type.Optional(IsoDate) },
  { additionalProperties: false },
);
