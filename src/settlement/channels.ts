// Which channels settle, with their connectors' parsers and sources and their terms.
import type { Transport } from "../channels/transport.ts";
import type { SettlementChannel } from "./context.ts";
import { defaultTerms } from "./terms.ts";

export interface SettlementTransports {
  globalpay?: Transport;
  localacq?: Transport;
  sandboxbank?: Transport;
  timeout_ms: number;
}

export function settlementChannels(transports: SettlementTransports): SettlementChannel[] {
  const channels: SettlementChannel[] = [];
  void transports;
  void defaultTerms;
  return channels;
}
