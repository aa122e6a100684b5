// What the settlement jobs need: the database, each settling channel's parser, source and terms,
// and the fee model (channel fees are checked against it).
import type { FeeModel } from "../routing/fees.ts";
import type { Db } from "../store/db.ts";
import type { ReportParser, SettlementSource, StatementParser } from "./report.ts";
import type { SettlementTerms } from "./terms.ts";

export interface SettlementChannel {
  channel: string;
  parser: ReportParser | StatementParser;
  /** Where the scheduler fetches the channel's files; absent: uploads only. */
  source?: SettlementSource;
  terms: SettlementTerms;
}

export interface SettlementContext {
  db: Db;
  channels: ReadonlyMap<string, SettlementChannel>;
  /** The fee model in force (read at each use: it is refreshed with observed fees). */
  fees(): FeeModel;
}
