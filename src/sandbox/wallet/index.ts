// The sandbox wallet as its own HTTP service: in this process (tests), or as a child process (`npm start`).
import { fileURLToPath } from "node:url";
import { serveHandler } from "../http-server.ts";
import { spawnSandboxService, type SandboxProcess, type SpawnOptions } from "../spawn.ts";
import { createSandboxWalletHandler, type SandboxWalletOptions } from "./handler.ts";

export { createSandboxWalletHandler, formatWalletAmount, parseWalletAmount, type SandboxWalletOptions } from "./handler.ts";
export { DEFAULT_SWALLET_SEED, SWALLET_CLIENT_ID, loadSigningKey, publicKeyOf, signWalletNotification } from "./signing.ts";

export interface RunningSandboxWallet {
  name: "sandboxwallet";
  url: string;
  close(): Promise<void>;
}

export async function startSandboxWallet(options: SandboxWalletOptions & { port?: number; host?: string } = {}): Promise<RunningSandboxWallet> {
  const server = await serveHandler(createSandboxWalletHandler(options), options);
  return { name: "sandboxwallet", url: server.url, close: server.close };
}

const mainPath = fileURLToPath(new URL("./main.ts", import.meta.url));

export type SandboxWalletProcess = SandboxProcess<"sandboxwallet">;

export function spawnSandboxWallet(options: SpawnOptions): Promise<SandboxWalletProcess> {
  return spawnSandboxService("sandboxwallet", mainPath, options);
}
