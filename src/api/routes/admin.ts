import type { FastifyInstance } from "fastify";
import type { Static } from "@sinclair/typebox";
import { invalid } from "../../errors.ts";
import { verifyLedger } from "../../ledger/ledger.ts";
import { importBins } from "../../methods/card/bins.ts";
import { rotateVaultKeys } from "../../methods/card/rotation.ts";
import { createMerchant } from "../../merchants/merchants.ts";
import { findCurrency } from "../../money/currency.ts";
import type { ApiDeps } from "../deps.ts";
import { sendFailure } from "../reply.ts";
import { BinImportBody, CreateMerchantBody, VaultRotateBody } from "../schemas.ts";

const tags = ["admin"];

export function adminRoutes(app: FastifyInstance, { ctx }: ApiDeps): void {
  app.post<{ Body: Static<typeof CreateMerchantBody> }>(
    "/v1/admin/merchants",
    { schema: { tags, summary: "Create a merchant and its API keys (the secret key is shown once)", body: CreateMerchantBody } },
    async (request, reply) => {
      const currency = findCurrency(request.body.default_currency);
      if (!currency) {
        const failure = invalid("default_currency", "invalid_currency", `'${request.body.default_currency}' is not a supported ISO 4217 currency.`).failure;
        return sendFailure(reply, failure);
      }
      const created = await createMerchant(ctx.db, { ...request.body, default_currency: currency.code });
      return reply.code(201).send({
        id: created.merchant.id,
        object: "merchant",
        name: created.merchant.name,
        country: created.merchant.country,
        default_currency: currency.code.toLowerCase(),
        created: Math.floor(created.merchant.created_ms / 1000),
        api_keys: { secret: created.secret, publishable: created.publishable },
      });
    },
  );

  app.get("/v1/admin/ledger/verify", { schema: { tags, summary: "Trial balance of the whole ledger, per currency" } }, async () => {
    const trial = await verifyLedger(ctx.db);
    return { balanced: trial.balanced, currencies: trial.currencies, violations: trial.violations, balances: trial.balances };
  });

  app.post<{ Body: Static<typeof BinImportBody> }>(
    "/v1/admin/bin_ranges",
    { schema: { tags, summary: "Import issuer facts by BIN prefix (longest prefix wins)", body: BinImportBody } },
    async (request) => {
      const ranges = request.body.ranges.map((range) => ({ prefix: range.prefix, country: range.country, funding: range.funding ?? null, issuer: range.issuer ?? null }));
      return { object: "bin_import", imported: await importBins(ctx.db, ranges) };
    },
  );

  app.post<{ Body: Static<typeof VaultRotateBody> }>(
    "/v1/admin/vault/rotate",
    {
      schema: {
        tags,
        summary: "Re-encrypt vaulted cards still under an old key with the active key (bounded, one short transaction per card; idempotent)",
        body: VaultRotateBody,
      },
    },
    async (request) => rotateVaultKeys(ctx.db, ctx.vault, { max_cards: request.body.limit }),
  );
}
