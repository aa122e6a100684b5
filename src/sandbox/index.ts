// Sandbox channels: start one over real HTTP, or build its handler for in-process use.
import { FaultInjector } from "./faults.ts";
import { createGlobalPayHandler, globalPayConfig } from "./globalpay/handler.ts";
import { serveHandler } from "./http-server.ts";
import { createLocalAcqHandler } from "./localacq/handler.ts";
import { defaultSlowResponseMs } from "./test-cards.ts";
import type { SandboxChannelName, SandboxHandler, SandboxOptions } from "./types.ts";

export type { SandboxChannelName, SandboxHandler, SandboxOptions, SandboxRequest, SandboxResponse } from "./types.ts";
export { testCards } from "./test-cards.ts";
export { FaultInjector, parseFaultConfig, type FaultConfig } from "./faults.ts";

export interface StartOptions extends SandboxOptions {
  port?: number;
  host?: string;
}

export interface RunningSandboxChannel {
  name: SandboxChannelName;
  url: string;
  close(): Promise<void>;
  handler: SandboxHandler;
  /** Its fault mode, for in-process control (the same state as `/_sandbox/faults`). */
  faults: FaultInjector;
}

export const sandboxChannelNames: readonly SandboxChannelName[] = ["globalpay", "localacq"];

export function createSandboxHandler(name: SandboxChannelName, options: SandboxOptions = {}): SandboxHandler {
  return createSandboxChannel(name, options).handler;
}

/** The handler and its fault mode. A timeout fault holds its answer as long as the slow card does. */
export function createSandboxChannel(name: SandboxChannelName, options: SandboxOptions = {}): { handler: SandboxHandler; faults: FaultInjector } {
  if (name === "globalpay") {
    const faults = new FaultInjector(globalPayConfig(options).slow_response_ms, options.faults);
    return { handler: createGlobalPayHandler(options, faults), faults };
  }
  if (name === "localacq") {
    const faults = new FaultInjector(options.slow_response_ms ?? defaultSlowResponseMs(), options.faults);
    return { handler: createLocalAcqHandler(options, faults), faults };
  }
  throw new Error(`programmer error: unknown sandbox channel ${String(name)}`);
}

/** Listens first (port 0 allowed), then builds the handler so it knows its own public URL. */
export async function startSandboxChannel(name: SandboxChannelName, options: StartOptions = {}): Promise<RunningSandboxChannel> {
  let handler: SandboxHandler | undefined;
  const server = await serveHandler((request) => {
    if (!handler) throw new Error("sandbox channel is still starting");
    return handler(request);
  }, options);
  const channel = createSandboxChannel(name, { ...options, public_url: options.public_url ?? server.url });
  handler = channel.handler;
  return { name, url: server.url, close: server.close, handler: channel.handler, faults: channel.faults };
}
