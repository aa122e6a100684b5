// Starts a sandbox channel as its own process and waits until it listens.
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import type { SandboxChannelName } from "./types.ts";

const startTimeoutMs = 20_000;
const mainPath = fileURLToPath(new URL("./main.ts", import.meta.url));

export interface SandboxProcess {
  name: SandboxChannelName;
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export function spawnSandboxChannel(
  name: SandboxChannelName,
  options: { port: number; notify_url?: string; slow_response_ms?: number; host?: string },
): Promise<SandboxProcess> {
  const args = ["--import", "tsx", mainPath, "--channel", name, "--port", String(options.port), "--host", options.host ?? "127.0.0.1"];
  if (options.notify_url) args.push("--notify-url", options.notify_url);
  if (options.slow_response_ms !== undefined) args.push("--slow-response-ms", String(options.slow_response_ms));
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
