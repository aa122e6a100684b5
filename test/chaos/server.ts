// A Corridor API process for the crash harness: the real server, talking over HTTP to sandbox
// channels that live in the harness process (so they survive our SIGKILL with their records).
import { loadConfig } from "../../src/config.ts";
import { createHttpTransport } from "../../src/channels/transport.ts";
import { startCorridor } from "../../src/corridor.ts";

const config = loadConfig();
const corridor = await startCorridor(config, {
  channels: [
    { name: "globalpay", transport: createHttpTransport(process.env.SANDBOX_GLOBALPAY_URL!) },
    { name: "localacq", transport: createHttpTransport(process.env.SANDBOX_LOCALACQ_URL!) },
  ],
  // The sandbox bank, when the test runs one: its statements fund the card channels' settlement batches.
  collections: process.env.SANDBOX_BANK_URL ? [{ name: "sandboxbank", transport: createHttpTransport(process.env.SANDBOX_BANK_URL) }] : [],
  webhook_retry_schedule_ms: [200, 200, 200, 200],
});
process.stdout.write(`${JSON.stringify({ ready: corridor.url })}\n`);
process.once("SIGTERM", () => void corridor.close().then(() => process.exit(0)));
