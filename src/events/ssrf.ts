// Server-side request forgery guard for webhook endpoint URLs (OWASP API7). Outside sandbox mode a
// webhook URL must not reach the platform's own network: its host may not be, nor resolve to, a
// loopback, private, shared (CGNAT), link-local (cloud metadata), unspecified, multicast or reserved
// address, in IPv4 or IPv6 (IPv4-mapped and NAT64 forms included). Checked when the endpoint is
// created and again before every delivery, after DNS resolution (refused if ANY address is
// disallowed), and once more at connect time (the address actually dialed), so that DNS rebinding
// between the check and the connection does not help.
import { lookup as dnsLookup } from "node:dns/promises";
import { isIP } from "node:net";

export interface ResolvedAddress {
  address: string;
  family: number;
}

/** `lookup(host, {all: true})` of `node:dns/promises`, injectable for tests. */
export type Resolver = (host: string) => Promise<ResolvedAddress[]>;

export const systemResolver: Resolver = (host) => dnsLookup(host, { all: true, verbatim: true });

const resolveTimeoutMs = 5_000;

type Cidr = [bigint, number];

function parseIPv4(address: string): bigint | undefined {
  const parts = address.split(".");
  if (parts.length !== 4) return undefined;
  let value = 0n;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return undefined;
    value = (value << 8n) | BigInt(Number(part));
  }
  return value;
}

function parseIPv6(input: string): bigint | undefined {
  let address = input.replace(/^\[|\]$/g, "").toLowerCase();
  const zone = address.indexOf("%");
  if (zone >= 0) address = address.slice(0, zone);
  if (isIP(address) !== 6) return undefined;
  // A trailing dotted IPv4 (::ffff:127.0.0.1) becomes two hextets.
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(address);
  if (dotted) {
    const v4 = parseIPv4(dotted[1]);
    if (v4 === undefined) return undefined;
    address = address.slice(0, -dotted[1].length) + `${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const halves = address.split("::");
  if (halves.length > 2) return undefined;
  const head = halves[0] ? halves[0].split(":") : [];
  const tail = halves.length === 2 && halves[1] ? halves[1].split(":") : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined;
  const groups = [...head, ...Array(halves.length === 2 ? missing : 0).fill("0"), ...tail];
  let value = 0n;
  for (const group of groups) {
    if (!/^[0-9a-f]{1,4}$/.test(group)) return undefined;
    value = (value << 16n) | BigInt(parseInt(group, 16));
  }
  return value;
}

function cidr4(base: string, bits: number): Cidr {
  return [parseIPv4(base)!, bits];
}

function cidr6(base: string, bits: number): Cidr {
  return [parseIPv6(base)!, bits];
}

function inCidr(value: bigint, [base, bits]: Cidr, width: number): boolean {
  const shift = BigInt(width - bits);
  return value >> shift === base >> shift;
}

const blockedIPv4: [Cidr, string][] = [
  [cidr4("0.0.0.0", 8), "unspecified"],
  [cidr4("10.0.0.0", 8), "private"],
  [cidr4("100.64.0.0", 10), "shared (CGNAT)"],
  [cidr4("127.0.0.0", 8), "loopback"],
  [cidr4("169.254.0.0", 16), "link-local"],
  [cidr4("172.16.0.0", 12), "private"],
  [cidr4("192.0.0.0", 24), "reserved (IETF protocol assignments)"],
  [cidr4("192.168.0.0", 16), "private"],
  [cidr4("198.18.0.0", 15), "reserved (benchmarking)"],
  [cidr4("224.0.0.0", 4), "multicast"],
  [cidr4("240.0.0.0", 4), "reserved"],
];

const blockedIPv6: [Cidr, string][] = [
  [cidr6("::", 128), "unspecified"],
  [cidr6("::1", 128), "loopback"],
  [cidr6("::", 96), "IPv4-compatible (deprecated)"],
  [cidr6("100::", 64), "discard-only"],
  [cidr6("fc00::", 7), "unique local"],
  [cidr6("fe80::", 10), "link-local"],
  [cidr6("fec0::", 10), "site-local (deprecated)"],
  [cidr6("ff00::", 8), "multicast"],
];

/** IPv6 forms that embed an IPv4 address in their last 32 bits: judged by that IPv4 address. */
const embeddingIPv4: Cidr[] = [cidr6("::ffff:0:0", 96), cidr6("64:ff9b::", 96)];

function classifyIPv4(value: bigint): string | undefined {
  for (const [range, reason] of blockedIPv4) if (inCidr(value, range, 32)) return reason;
  return undefined;
}

/**
 * Why an IP address may not be a webhook target (loopback, private, …), or undefined when it is a
 * public address. Anything that is not a well-formed IP address is refused.
 */
export function disallowedAddressReason(address: string): string | undefined {
  const v4 = parseIPv4(address);
  if (v4 !== undefined) return classifyIPv4(v4);
  const v6 = parseIPv6(address);
  if (v6 === undefined) return "not an IP address";
  for (const range of embeddingIPv4) {
    if (inCidr(v6, range, 128)) {
      const reason = classifyIPv4(v6 & 0xffffffffn);
      return reason ? `IPv4-embedded ${reason}` : undefined;
    }
  }
  for (const [range, reason] of blockedIPv6) if (inCidr(v6, range, 128)) return reason;
  return undefined;
}

export function isAllowedAddress(address: string): boolean {
  return disallowedAddressReason(address) === undefined;
}

export type UrlCheck = { ok: true; addresses: ResolvedAddress[] } | { ok: false; reason: string };

async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      promise,
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`DNS lookup timed out after ${ms} ms`)), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Checks a webhook URL: http(s) only, and its host (an IP literal in any of the forms the URL parser
 * accepts — `0x7f000001`, `2130706433`, `127.1` are all normalized to 127.0.0.1 — or a name,
 * resolved with `resolver`) must only be, or resolve only to, public addresses.
 */
export async function checkWebhookUrl(raw: string, resolver: Resolver = systemResolver): Promise<UrlCheck> {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return { ok: false, reason: "the URL does not parse" };
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") return { ok: false, reason: "only http and https URLs are allowed" };
  if (url.username || url.password) return { ok: false, reason: "URLs with credentials are not allowed" };
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (!host) return { ok: false, reason: "the URL has no host" };
  if (isIP(host)) {
    const reason = disallowedAddressReason(host);
    return reason ? { ok: false, reason: `${host} is a ${reason} address` } : { ok: true, addresses: [{ address: host, family: isIP(host) }] };
  }
  const name = host.toLowerCase().replace(/\.$/, "");
  if (name === "localhost" || name.endsWith(".localhost")) return { ok: false, reason: `${host} is a loopback name` };
  let addresses: ResolvedAddress[];
  try {
    addresses = await withTimeout(resolver(name), resolveTimeoutMs);
  } catch (caught) {
    return { ok: false, reason: `${host} does not resolve (${caught instanceof Error ? caught.message : String(caught)})` };
  }
  if (addresses.length === 0) return { ok: false, reason: `${host} does not resolve` };
  for (const { address } of addresses) {
    const reason = disallowedAddressReason(address);
    if (reason) return { ok: false, reason: `${host} resolves to ${address}, a ${reason} address` };
  }
  return { ok: true, addresses };
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | ResolvedAddress[], family?: number) => void;

/**
 * A `lookup` for `net.connect` (used by the delivery HTTP agent): resolves with `resolver` and fails
 * the connection if any address is disallowed, so the address dialed is the address checked.
 */
export function guardedLookup(resolver: Resolver = systemResolver) {
  return (hostname: string, options: { all?: boolean } | number | undefined, callback: LookupCallback): void => {
    withTimeout(resolver(hostname), resolveTimeoutMs).then(
      (addresses) => {
        const bad = addresses.find(({ address }) => disallowedAddressReason(address));
        if (addresses.length === 0 || bad) {
          const error: NodeJS.ErrnoException = new Error(
            bad ? `url_not_allowed: ${hostname} resolves to ${bad.address}, a ${disallowedAddressReason(bad.address)} address` : `${hostname} does not resolve`,
          );
          error.code = bad ? "ERR_URL_NOT_ALLOWED" : "ENOTFOUND";
          return callback(error, []);
        }
        if (typeof options === "object" && options?.all) return callback(null, addresses);
        callback(null, addresses[0].address, addresses[0].family);
      },
      (error: NodeJS.ErrnoException) => callback(error, []),
    );
  };
}
