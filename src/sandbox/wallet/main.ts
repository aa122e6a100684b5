// Runs the sandbox wallet as its own process:
//   tsx src/sandbox/wallet/main.ts --port 4104 --notify-url http://127.0.0.1:4000/v1/channels/sandboxwallet/notifications
// Prints one JSON line once listening: {"channel":"sandboxwallet","url":"http://127.0.0.1:4104"}.
import { parseArgs } from "node:util";
import { startSandboxWallet } from "./index.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "notify-url": { type: "string" },
    "signing-seed": { type: "string" },
    "refund-delay-ms": { type: "string" },
  },
});

async function main(): Promise<void> {
  const wallet = await startSandboxWallet({
    port: Number(values.port), host: values.host, notify_url: values["notify-url"], signing_seed: values["signing-seed"],
    refund_delay_ms: values["refund-delay-ms"] === undefined ? undefined : Number(values["refund-delay-ms"]),
  });
  process.stdout.write(`${JSON.stringify({ channel: wallet.name, url: wallet.url })}\n`);
  const shutdown = async () => {
    await wallet.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown());
  process.once("SIGINT", () => void shutdown());
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
