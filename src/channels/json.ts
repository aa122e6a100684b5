// Reading a channel's JSON answer: an object, or undefined for anything else (malformed JSON, an
// array, a scalar). Connectors treat undefined as an unreadable answer, never as a throw.
export function parseJsonObject(body: string): Record<string, any> | undefined {
  try {
    const value: unknown = JSON.parse(body);
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, any>) : undefined;
  } catch {
    return undefined;
  }
}
