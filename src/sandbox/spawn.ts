// Starts a sandbox service as its own process and waits until it listens. Every sandbox `main.ts`
// takes `--port`, `--host` and `--notify-url` and prints one JSON line `{"channel","url"}` once listening.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { SandboxChannelName } from "./types.ts";

const startTimeoutMs = 20_000;
const channelsMainPath = fileURLToPath(new URL("./main.ts", import.meta.url));

export interface SandboxProcess<Name extends string = SandboxChannelName> {
  name: Name;
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export interface SpawnOptions {
  port: number;
  notify_url?: string;
  host?: string;
  /** Further arguments for the service's main. */
  args?: string[];
}

/** Spawns `main_path` (a sandbox service's main.ts) with tsx. */
export function spawnSandboxService<Name extends string>(name: Name, main_path: string, options: SpawnOptions): Promise<SandboxProcess<Name>> {
  const args = ["--import", "tsx", main_path, "--port", String(options.port), "--host", options.host ?? "127.0.0.1", ...(options.args ?? [])];
  if (options.notify_url) args.push("--notify-url", options.notify_url);
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sandbox ${name} did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
    child.once("exit", (code) => reject(new Error(`sandbox ${name} exited with code ${code}`)));
    createInterface({ input: child.stdout! }).once("line", (line) => {
      clearTimeout(timer);
      const { url } = JSON.parse(line) as { url: string };
      resolve({
        name, url, child,
        stop: () => new Promise<void>((done) => {
          if (child.exitCode !== null) return done();
          child.once("exit", () => done());
          child.kill("SIGTERM");
        }),
      });
    });
  });
}

/** A card sandbox channel (globalpay, localacq) in its own process. */
export function spawnSandboxChannel(
  name: SandboxChannelName,
  options: { port: number; notify_url?: string; slow_response_ms?: number; host?: string; bank_url?: string },
): Promise<SandboxProcess> {
  const args = ["--channel", name];
  if (options.bank_url) args.push("--bank-url", options.bank_url);
  if (options.slow_response_ms !== undefined) args.push("--slow-response-ms", String(options.slow_response_ms));
  return spawnSandboxService(name, channelsMainPath, { ...options, args });
}
