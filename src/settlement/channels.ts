// Which channels settle, with their connectors' parsers and sources and their terms.
import { createGlobalPaySettlementSource, globalPayReportParser } from "../channels/globalpay/settlement.ts";
import { createLocalAcqSettlementSource, localAcqReportParser } from "../channels/localacq/settlement.ts";
import { createSandboxBankStatementSource, sandboxBankStatementParser } from "../channels/sandboxbank/statements.ts";
import type { Transport } from "../channels/transport.ts";
import type { SettlementChannel } from "./context.ts";
import { defaultTerms } from "./terms.ts";

export interface SettlementTransports {
  globalpay?: Transport;
  localacq?: Transport;
  sandboxbank?: Transport;
  timeout_ms: number;
}

/** Every settling channel (uploads work for each); the ones with a transport are also fetched. */
export function settlementChannels(transports: SettlementTransports): SettlementChannel[] {
  const timeout_ms = Math.max(transports.timeout_ms, 5_000);
  return [
    { channel: "globalpay", parser: globalPayReportParser, terms: defaultTerms.globalpay,
      source: transports.globalpay && createGlobalPaySettlementSource({ transport: transports.globalpay, timeout_ms }) },
    { channel: "localacq", parser: localAcqReportParser, terms: defaultTerms.localacq,
      source: transports.localacq && createLocalAcqSettlementSource({ transport: transports.localacq, timeout_ms }) },
    { channel: "sandboxbank", parser: sandboxBankStatementParser, terms: defaultTerms.sandboxbank,
      source: transports.sandboxbank && createSandboxBankStatementSource({ transport: transports.sandboxbank, timeout_ms }) },
  ];
}
