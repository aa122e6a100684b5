// The sandbox bank as its own HTTP service: in this process (tests), or as a child process (`npm start`).
import { fileURLToPath } from "node:url";
import { serveHandler } from "../http-server.ts";
import { createSandboxBankHandler, type SandboxBankOptions } from "./handler.ts";
import { spawnSandboxService, type SandboxProcess, type SpawnOptions } from "../spawn.ts";

export { createSandboxBankHandler, signSbank, DEFAULT_SBANK_SECRET, SBANK_SIGNATURE_HEADER, type SandboxBankOptions } from "./handler.ts";
export { PLATFORM_ACCOUNT } from "./platform-account.ts";

export interface RunningSandboxBank {
  name: "sandboxbank";
  url: string;
  close(): Promise<void>;
}

export async function startSandboxBank(options: SandboxBankOptions & { port?: number; host?: string } = {}): Promise<RunningSandboxBank> {
  const server = await serveHandler(createSandboxBankHandler(options), options);
  return { name: "sandboxbank", url: server.url, close: server.close };
}

const mainPath = fileURLToPath(new URL("./main.ts", import.meta.url));

export type SandboxBankProcess = SandboxProcess<"sandboxbank">;

export function spawnSandboxBank(options: SpawnOptions): Promise<SandboxBankProcess> {
  return spawnSandboxService("sandboxbank", mainPath, options);
}
