// Runs sandbox channels as their own process:
//   tsx src/sandbox/main.ts --channel globalpay --port 4101 --notify-url http://127.0.0.1:4000/v1/channels/globalpay/notifications
// --faults '<json>' starts in fault mode (see faults.ts; also PUT /_sandbox/faults at run time).
// --bank-url http://127.0.0.1:4103 is where settlement closes pay their batches (the sandbox bank).
// Prints one JSON line per channel once listening: {"channel":"globalpay","url":"http://127.0.0.1:4101"}.
// --channel may repeat (or be "all"); with several channels, --port is the first port and the next ones follow.
import { parseArgs } from "node:util";
import { parseFaultConfig, sandboxChannelNames, startSandboxChannel, type FaultConfig, type RunningSandboxChannel, type SandboxChannelName } from "./index.ts";

const { values } = parseArgs({
  options: {
    channel: { type: "string", multiple: true, default: ["all"] },
    port: { type: "string" },
    host: { type: "string", default: "127.0.0.1" },
    "notify-url": { type: "string" },
    "notification-secret": { type: "string" },
    "slow-response-ms": { type: "string" },
    "public-url": { type: "string" },
    faults: { type: "string" },
    "bank-url": { type: "string" },
  },
});

function channelsToStart(requested: string[]): SandboxChannelName[] {
  if (requested.includes("all")) return [...sandboxChannelNames];
  for (const name of requested) {
    if (!sandboxChannelNames.includes(name as SandboxChannelName)) throw new Error(`unknown channel ${name}; expected ${sandboxChannelNames.join(", ")} or all`);
  }
  return requested as SandboxChannelName[];
}

function optionalInteger(text: string | undefined, label: string): number | undefined {
  if (text === undefined) return undefined;
  const value = Number(text);
  if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${label} must be a non-negative integer`);
  return value;
}

function faultsOption(text: string | undefined): FaultConfig | undefined {
  if (text === undefined) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new Error("--faults must be JSON");
  }
  const parsed = parseFaultConfig(json);
  if (!parsed.ok) throw new Error(`--faults: ${parsed.message}`);
  return parsed.config;
}

async function main(): Promise<void> {
  const names = channelsToStart(values.channel ?? ["all"]);
  const faults = faultsOption(values.faults);
  const firstPort = optionalInteger(values.port, "--port");
  const running: RunningSandboxChannel[] = [];
  for (const [index, name] of names.entries()) {
    const channel = await startSandboxChannel(name, {
      port: firstPort === undefined || firstPort === 0 ? firstPort : firstPort + index,
      host: values.host,
      notify_url: values["notify-url"],
      notification_secret: values["notification-secret"],
      slow_response_ms: optionalInteger(values["slow-response-ms"], "--slow-response-ms"),
      public_url: names.length === 1 ? values["public-url"] : undefined,
      faults,
      bank_url: values["bank-url"],
    });
    running.push(channel);
    process.stdout.write(`${JSON.stringify({ channel: channel.name, url: channel.url })}\n`);
  }
  const shutdown = async () => {
    await Promise.all(running.map((channel) => channel.close()));
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown());
  process.once("SIGINT", () => void shutdown());
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
