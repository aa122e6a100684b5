// Runs the sandbox BNPL provider as its own process:
//   tsx src/sandbox/bnpl/main.ts --port 4105 --notify-url http://127.0.0.1:4000/v1/channels/sandboxbnpl/notifications
// Prints one JSON line once listening: {"channel":"sandboxbnpl","url":"http://127.0.0.1:4105"}.
import { parseArgs } from "node:util";
import { startSandboxBnpl } from "./index.ts";

const { values } = parseArgs({
  options: {
    port: { type: "string", default: "0" },
    host: { type: "string", default: "127.0.0.1" },
    "notify-url": { type: "string" },
    "notification-secret": { type: "string" },
    "public-url": { type: "string" },
  },
});

async function main(): Promise<void> {
  const provider = await startSandboxBnpl({
    port: Number(values.port), host: values.host, notify_url: values["notify-url"],
    notification_secret: values["notification-secret"], public_url: values["public-url"],
  });
  process.stdout.write(`${JSON.stringify({ channel: provider.name, url: provider.url })}\n`);
  const shutdown = async () => {
    await provider.close();
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown());
  process.once("SIGINT", () => void shutdown());
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
