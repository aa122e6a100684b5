// The sandbox BNPL provider as its own HTTP service: in this process (tests), or as a child process (`npm start`).
import { fileURLToPath } from "node:url";
import { serveHandler } from "../http-server.ts";
import { spawnSandboxService, type SandboxProcess, type SpawnOptions } from "../spawn.ts";
import { createSandboxBnplHandler, type SandboxBnplOptions } from "./handler.ts";

export { createSandboxBnplHandler, signSbnpl, DEFAULT_SBNPL_SECRET, SBNPL_SIGNATURE_HEADER, type SandboxBnplOptions } from "./handler.ts";

export interface RunningSandboxBnpl {
  name: "sandboxbnpl";
  url: string;
  close(): Promise<void>;
}

export async function startSandboxBnpl(options: SandboxBnplOptions & { port?: number; host?: string } = {}): Promise<RunningSandboxBnpl> {
  // The handler reads public_url per request: known once the server listens (unless given).
  const handlerOptions: SandboxBnplOptions = { ...options };
  const server = await serveHandler(createSandboxBnplHandler(handlerOptions), options);
  handlerOptions.public_url ??= server.url;
  return { name: "sandboxbnpl", url: server.url, close: server.close };
}

const mainPath = fileURLToPath(new URL("./main.ts", import.meta.url));

export type SandboxBnplProcess = SandboxProcess<"sandboxbnpl">;

export function spawnSandboxBnpl(options: SpawnOptions): Promise<SandboxBnplProcess> {
  return spawnSandboxService("sandboxbnpl", mainPath, options);
}
