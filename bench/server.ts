// The bench's server child. Two modes:
//   --mode echo                      a bare Fastify server with one POST /echo JSON route (the ceiling)
//   --mode corridor --channel http --globalpay-url U --localacq-url U
//   --mode corridor --channel inprocess
// Corridor reads its configuration from the environment the bench sets (PORT, DATABASE_URL,
// CORRIDOR_ADMIN_KEY, CORRIDOR_VAULT_KEYS, RATE_LIMIT_PER_SECOND=0, LOG_LEVEL=warn).
// Prints one line {"ready":true,"url":…} once listening; SIGTERM closes it and exits 0 (so that
// --cpu-prof can write its profile).
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    mode: { type: "string", default: "corridor" },
    channel: { type: "string", default: "http" },
    port: { type: "string", default: "0" },
    "globalpay-url": { type: "string" },
    "localacq-url": { type: "string" },
  },
});

const closeTimeoutMs = 10_000;

async function startEcho(port: number): Promise<{ url: string; close(): Promise<void> }> {
  const { default: Fastify } = await import("fastify");
  const app = Fastify({ logger: false });
  let served = 0;
  app.post("/echo", async (request) => {
    served += 1;
    const body = request.body as { amount?: unknown } | undefined;
    return { id: `echo_${served}`, object: "echo", status: "succeeded", amount: body?.amount ?? null };
  });
  const url = await app.listen({ port, host: "127.0.0.1" });
  return { url, close: () => app.close() };
}

async function startCorridorServer(): Promise<{ url: string; close(): Promise<void> }> {
  const { loadConfig } = await import("../src/config.ts");
  const { createHttpTransport, createInProcessTransport } = await import("../src/channels/transport.ts");
  const { startCorridor } = await import("../src/corridor.ts");
  const { createSandboxHandler } = await import("../src/sandbox/index.ts");
  const config = loadConfig(process.env);
  let channels;
  if (values.channel === "http") {
    const globalpay = values["globalpay-url"];
    const localacq = values["localacq-url"];
    if (!globalpay || !localacq) throw new Error("--channel http needs --globalpay-url and --localacq-url");
    channels = [
      { name: "globalpay" as const, transport: createHttpTransport(globalpay) },
      { name: "localacq" as const, transport: createHttpTransport(localacq) },
    ];
  } else if (values.channel === "inprocess") {
    channels = [
      { name: "globalpay" as const, transport: createInProcessTransport(createSandboxHandler("globalpay", {})) },
      { name: "localacq" as const, transport: createInProcessTransport(createSandboxHandler("localacq", {})) },
    ];
  } else {
    throw new Error(`unknown --channel ${values.channel}`);
  }
  const corridor = await startCorridor(config, { channels });
  return { url: corridor.url, close: () => corridor.close() };
}

async function main(): Promise<void> {
  const server = values.mode === "echo" ? await startEcho(Number(values.port)) : await startCorridorServer();
  let closing = false;
  const shutdown = async () => {
    if (closing) return;
    closing = true;
    const timer = setTimeout(() => {
      process.stderr.write("bench server: close timed out\n");
      process.exit(1);
    }, closeTimeoutMs);
    try {
      await server.close();
    } finally {
      clearTimeout(timer);
    }
    process.exit(0);
  };
  process.once("SIGTERM", () => void shutdown());
  process.once("SIGINT", () => void shutdown());
  process.stdout.write(`${JSON.stringify({ ready: true, url: server.url, pid: process.pid })}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`bench server failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
