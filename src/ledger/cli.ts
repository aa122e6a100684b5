// `npm run ledger:verify`: the trial balance from the command line; exits 1 when unbalanced.
import { openDb } from "../store/db.ts";
import { verifyLedger } from "./ledger.ts";

const db = await openDb(process.env.DATABASE_URL ?? "sqlite:./data/corridor.sqlite");
const trial = await verifyLedger(db);
process.stdout.write(`${JSON.stringify(trial, null, 2)}\n`);
await db.close();
process.exit(trial.balanced ? 0 : 1);
