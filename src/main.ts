// `npm start`: the sandbox channels (each its own process and HTTP service), then the Corridor API
// with its background workers, on an embedded SQLite file unless DATABASE_URL says PostgreSQL.
import { loadConfig } from "./config.ts";
import { createHttpTransport } from "./channels/transport.ts";
import { startCorridor } from "./corridor.ts";
import { spawnSandboxChannel, type SandboxProcess } from "./sandbox/spawn.ts";
import { spawnSandboxBank } from "./sandbox/bank/index.ts";
import { spawnSandboxBnpl } from "./sandbox/bnpl/index.ts";
import { spawnSandboxWallet } from "./sandbox/wallet/index.ts";

async function main(): Promise<void> {
  const config = loadConfig();
  const basePort = Number(process.env.SANDBOX_BASE_PORT ?? 4101);
  // The sandbox bank first (bank transfers, debits, and the platform account the card channels pay their settlement batches into).
  const bank = await spawnSandboxBank({ port: basePort + 2, notify_url: `${config.public_url}/v1/channels/sandboxbank/notifications` });
  const sandboxes: SandboxProcess[] = [];
  for (const [index, name] of (["globalpay", "localacq"] as const).entries()) {
    sandboxes.push(await spawnSandboxChannel(name, {
      port: basePort + index,
      notify_url: `${config.public_url}/v1/channels/${name}/notifications`,
      bank_url: bank.url,
    }));
  }
  // The sandbox BNPL provider (checkouts, installment plans, refunds), its own process too.
  const bnpl = await spawnSandboxBnpl({ port: basePort + 4, notify_url: `${config.public_url}/v1/channels/sandboxbnpl/notifications` });
  // The sandbox e-wallet (GCash, DANA, OVO, ShopeePay, Alipay+, ...: redirect, app push, QR), its own process too.
  const wallet = await spawnSandboxWallet({ port: basePort + 3, notify_url: `${config.public_url}/v1/channels/sandboxwallet/notifications` });
  const corridor = await startCorridor(config, {
    channels: sandboxes.map((sandbox) => ({ name: sandbox.name, transport: createHttpTransport(sandbox.url) })),
    collections: [{ name: "sandboxbank", transport: createHttpTransport(bank.url) }],
    bnpl: [{ name: "sandboxbnpl", transport: createHttpTransport(bnpl.url) }],
    wallets: [{ name: "sandboxwallet", transport: createHttpTransport(wallet.url) }],
  });
  const shutdown = async () => {
    await corridor.close();
    await Promise.all([...sandboxes.map((sandbox) => sandbox.stop()), bank.stop(), bnpl.stop(), wallet.stop()]);
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown());
  process.once("SIGINT", () => void shutdown());
  printWelcome(config.public_url, config.admin_key, config.admin_key_generated, config.database_url, [...sandboxes, bank, bnpl, wallet]);
}

function printWelcome(url: string, admin_key: string, generated: boolean, database_url: string, sandboxes: { name: string; url: string }[]): void {
  const database = database_url.startsWith("sqlite:") ? `SQLite file ${database_url.replace(/^sqlite:(\/\/)?/, "")}` : "PostgreSQL";
  process.stdout.write(`
Corridor is running at ${url} (${database})
Sandbox channels: ${sandboxes.map((sandbox) => `${sandbox.name} ${sandbox.url}`).join(", ")}
Admin key${generated ? " (generated; set CORRIDOR_ADMIN_KEY to keep one)" : ""}: ${admin_key}

Make a first payment:
  curl -s -X POST ${url}/v1/admin/merchants -H "Authorization: Bearer ${admin_key}" \\
    -H "Content-Type: application/json" -d '{"name":"My shop","country":"US","default_currency":"usd"}'
  # copy api_keys.secret from the answer, then:
  curl -s -X POST ${url}/v1/payments -H "Authorization: Bearer sk_test_..." -H "Idempotency-Key: first-1" \\
    -H "Content-Type: application/json" \\
    -d '{"amount":1000,"currency":"usd","confirm":true,"payment_method_data":{"type":"card","card":{"number":"4242424242424242","exp_month":12,"exp_year":2030,"cvc":"123"}}}'
API reference: ${url}/openapi.json
`);
}

main().catch((error: unknown) => {
  process.stderr.write(`Corridor failed to start: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
