// Serves any sandbox handler over real HTTP (node:http, keep-alive).
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { SandboxHandler, SandboxRequest } from "./types.ts";

export const SERVER_KEEP_ALIVE_TIMEOUT_MS = 30_000;
export const MAX_REQUEST_BODY_BYTES = 1_000_000;

export interface RunningHttpServer {
  url: string;
  close(): Promise<void>;
}

export async function serveHandler(handler: SandboxHandler, options: { port?: number; host?: string } = {}): Promise<RunningHttpServer> {
  const host = options.host ?? "127.0.0.1";
  const server = createServer({ keepAlive: true }, (request, response) => {
    void answer(handler, request, response);
  });
  server.keepAliveTimeout = SERVER_KEEP_ALIVE_TIMEOUT_MS;
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(options.port ?? 0, host, () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}`;
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return { url, close };
}

async function answer(handler: SandboxHandler, request: IncomingMessage, response: ServerResponse): Promise<void> {
  try {
    const body = await readBody(request);
    const result = await handler(toSandboxRequest(request, body));
    if (response.destroyed) return;
    if (result.destroy_socket) {
      // Fault mode: a connection reset, whatever the handler did before.
      request.socket.destroy();
      return;
    }
    response.writeHead(result.status, result.headers);
    response.end(result.body);
  } catch (error) {
    if (response.destroyed || response.headersSent) return;
    const status = error instanceof BodyTooLargeError ? 413 : 500;
    response.writeHead(status, { "content-type": "application/json" });
    response.end(JSON.stringify({ error: { code: status === 413 ? "BODY_TOO_LARGE" : "INTERNAL" } }));
  }
}

class BodyTooLargeError extends Error {}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    request.on("data", (chunk: Buffer) => {
      size += chunk.length;
      if (size > MAX_REQUEST_BODY_BYTES) return reject(new BodyTooLargeError());
      chunks.push(chunk);
    });
    request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function toSandboxRequest(request: IncomingMessage, body: string): SandboxRequest {
  const url = new URL(request.url ?? "/", "http://sandbox.invalid");
  return {
    method: request.method ?? "GET",
    path: url.pathname,
    query: Object.fromEntries(url.searchParams),
    headers: request.headers,
    body,
  };
}
