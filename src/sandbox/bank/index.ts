// The sandbox bank as its own HTTP service: in this process (tests), or as a child process (`npm start`).
import { spawn, type ChildProcess } from "node:child_process";
import { createInterface } from "node:readline";
import { fileURLToPath } from "node:url";
import { serveHandler } from "../http-server.ts";
import { createSandboxBankHandler, type SandboxBankOptions } from "./handler.ts";

export { createSandboxBankHandler, signSbank, DEFAULT_SBANK_SECRET, SBANK_SIGNATURE_HEADER, type SandboxBankOptions } from "./handler.ts";

export interface RunningSandboxBank {
  name: "sandboxbank";
  url: string;
  close(): Promise<void>;
}

export async function startSandboxBank(options: SandboxBankOptions & { port?: number; host?: string } = {}): Promise<RunningSandboxBank> {
  const server = await serveHandler(createSandboxBankHandler(options), options);
  return { name: "sandboxbank", url: server.url, close: server.close };
}

const startTimeoutMs = 20_000;
const mainPath = fileURLToPath(new URL("./main.ts", import.meta.url));

export interface SandboxBankProcess {
  name: "sandboxbank";
  url: string;
  child: ChildProcess;
  stop(): Promise<void>;
}

export function spawnSandboxBank(options: { port: number; notify_url?: string; host?: string }): Promise<SandboxBankProcess> {
  const args = ["--import", "tsx", mainPath, "--port", String(options.port), "--host", options.host ?? "127.0.0.1"];
  if (options.notify_url) args.push("--notify-url", options.notify_url);
  const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "inherit"] });
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sandboxbank did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
    child.once("exit", (code) => reject(new Error(`sandboxbank exited with code ${code}`)));
    createInterface({ input: child.stdout! }).once("line", (line) => {
      clearTimeout(timer);
      const { url } = JSON.parse(line) as { url: string };
      resolve({
        name: "sandboxbank", url, child,
        stop: () => new Promise<void>((done) => {
          if (child.exitCode !== null) return done();
          child.once("exit", () => done());
          child.kill("SIGTERM");
        }),
      });
    });
  });
}
