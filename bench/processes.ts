// Child processes for the bench: start, wait for a ready line (bounded), stop (bounded), and a
// registry so that everything started is stopped on exit, error or Ctrl-C.
import { spawn, type ChildProcess } from "node:child_process";
import { createServer } from "node:net";
import { createInterface } from "node:readline";

const startTimeoutMs = 30_000;
const stopTimeoutMs = 15_000;

const running = new Set<ChildProcess>();

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => resolve(typeof address === "object" && address ? address.port : 0));
    });
  });
}

export interface Child<T> {
  child: ChildProcess;
  ready: T;
  stop(): Promise<number | null>;
}

/** Registers a process started elsewhere (e.g. spawnSandboxChannel) for the last-resort cleanup. */
export function track(child: ChildProcess): void {
  running.add(child);
  child.once("exit", () => running.delete(child));
}

/** SIGTERM, then SIGKILL after a bounded wait. Resolves with the exit code. */
export function stopChild(child: ChildProcess, timeout_ms = stopTimeoutMs): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    const timer = setTimeout(() => child.kill("SIGKILL"), timeout_ms);
    child.once("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
    child.kill("SIGTERM");
  });
}

/**
 * Starts `node [nodeArgs] --import tsx script args` and resolves with the first stdout line that is
 * a JSON object with `ready: true`. Other stdout lines (server logs) are copied to stderr.
 */
export function startNode<T extends { ready: true }>(
  script: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; nodeArgs?: string[]; imports?: string[]; label: string },
): Promise<Child<T>> {
  const child = spawn(process.execPath, [
    ...(options.nodeArgs ?? []), "--import", "tsx", ...(options.imports ?? []).flatMap((module) => ["--import", module]), script, ...args,
  ], {
    env: { ...process.env, ...options.env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  track(child);
  return new Promise((resolve, reject) => {
    let settled = false;
    const fail = (error: Error) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      void stopChild(child, 2_000);
      reject(error);
    };
    const timer = setTimeout(() => fail(new Error(`${options.label} did not start within ${startTimeoutMs} ms`)), startTimeoutMs);
    child.once("exit", (code, signal) => fail(new Error(`${options.label} exited (code ${code}, signal ${signal}) before it was ready`)));
    child.once("error", (error) => fail(error));
    createInterface({ input: child.stdout! }).on("line", (line) => {
      if (!settled && line.startsWith("{")) {
        try {
          const parsed = JSON.parse(line) as T;
          if (parsed.ready === true) {
            settled = true;
            clearTimeout(timer);
            resolve({ child, ready: parsed, stop: () => stopChild(child) });
            return;
          }
        } catch {
          // a log line that is not ours
        }
      }
      process.stderr.write(`[${options.label}] ${line}\n`);
    });
  });
}

/** Stops every child still running (bounded). */
export async function stopAll(): Promise<void> {
  await Promise.all([...running].map((child) => stopChild(child, 5_000)));
}

/** Synchronous last resort for `process.on("exit")`. */
export function killAllNow(): void {
  for (const child of running) {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}
