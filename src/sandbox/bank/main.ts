// Runs the sandbox bank as its own process:
//   tsx src/sandbox/bank/main.ts --port 4103 --notify-url http://127.0.0.1:4000/v1/channels/sandboxbank/notifications
// Prints one JSON line once listening: {"channel":"sandboxbank","url":"http://127.0.0.1:4103"}.
import { parseArgs } from "node:util";
import { startSandboxBank } from "./index.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "notify-url": { type: "string" },
    "notification-secret": { type: "string" },
  },
});

async function main(): Promise<void> {
  const bank = await startSandboxBank({
    port: Number(values.port), host: values.host, notify_url: values["notify-url"], notification_secret: values["notification-secret"],
  });
  process.stdout.write(`${JSON.stringify({ channel: bank.name, url: bank.url })}\n`);
  const shutdown = async () => {
    await bank.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown());
  process.once("SIGINT", () => void shutdown());
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
