// The body of every single-service sandbox `main.ts`: parse `--port`, `--host`, `--notify-url` and
// the service's own options, start it, print one JSON line `{"channel","url"}` once listening, and
// close it on SIGTERM/SIGINT. Failures print their message and exit 1.
import { parseArgs } from "node:util";

export interface StandardServiceArgs {
  port: number;
  host: string;
  notify_url?: string;
}

type ExtraOptions = Record<string, { type: "string" }>;

export function runSandboxService<Extra extends ExtraOptions>(
  extra: Extra,
  start: (args: StandardServiceArgs, values: { [K in keyof Extra]?: string }) => Promise<{ name: string; url: string; close(): Promise<void> }>,
): void {
  const { values } = parseArgs({
    options: {
      port: { type: "string", default: "0" },
      host: { type: "string", default: "127.0.0.1" },
      "notify-url": { type: "string" },
      ...extra,
    },
  });
  const all = values as Record<string, string | undefined>;
  const run = async () => {
    const service = await start({ port: Number(all.port), host: all.host ?? "127.0.0.1", notify_url: all["notify-url"] }, all as { [K in keyof Extra]?: string });
    process.stdout.write(`${JSON.stringify({ channel: service.name, url: service.url })}\n`);
    const shutdown = async () => {
      await service.close();
      process.exit(0);
    };
    process.once("SIGTERM", () => void shutdown());
    process.once("SIGINT", () => void shutdown());
  };
  run().catch((error: unknown) => {
    process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  });
}
