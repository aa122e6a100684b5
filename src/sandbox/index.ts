// Sandbox channels: start one over real HTTP, or build its handler for in-process use.
import { createGlobalPayHandler } from "./globalpay/handler.ts";
import { serveHandler } from "./http-server.ts";
import { createLocalAcqHandler } from "./localacq/handler.ts";
import type { SandboxChannelName, SandboxHandler, SandboxOptions } from "./types.ts";

export type { SandboxChannelName, SandboxHandler, SandboxOptions, SandboxRequest, SandboxResponse } from "./types.ts";
export { testCards } from "./test-cards.ts";

export interface StartOptions extends SandboxOptions {
  port?: number;
  host?: string;
}

export interface RunningSandboxChannel {
  name: SandboxChannelName;
  url: string;
  close(): Promise<void>;
  handler: SandboxHandler;
}

export const sandboxChannelNames: readonly SandboxChannelName[] = ["globalpay", "localacq"];

export function createSandboxHandler(name: SandboxChannelName, options: SandboxOptions = {}): SandboxHandler {
  if (name === "globalpay") return createGlobalPayHandler(options);
  if (name === "localacq") return createLocalAcqHandler(options);
  throw new Error(`programmer error: unknown sandbox channel ${String(name)}`);
}

/** Listens first (port 0 allowed), then builds the handler so it knows its own public URL. */
export async function startSandboxChannel(name: SandboxChannelName, options: StartOptions = {}): Promise<RunningSandboxChannel> {
  let handler: SandboxHandler | undefined;
  const server = await serveHandler((request) => {
    if (!handler) throw new Error("sandbox channel is still starting");
    return handler(request);
  }, options);
  handler = createSandboxHandler(name, { ...options, public_url: options.public_url ?? server.url });
  return { name, url: server.url, close: server.close, handler };
}
