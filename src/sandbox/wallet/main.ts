// Runs the sandbox wallet as its own process:
//   tsx src/sandbox/wallet/main.ts --port 4104 --notify-url http://127.0.0.1:4000/v1/channels/sandboxwallet/notifications
// Prints one JSON line once listening: {"channel":"sandboxwallet","url":"http://127.0.0.1:4104"}.
import { runSandboxService } from "../service-main.ts";
import { startSandboxWallet } from "./index.ts";

runSandboxService({ "signing-seed": { type: "string" }, "refund-delay-ms": { type: "string" } }, (args, values) =>
  startSandboxWallet({
    ...args, signing_seed: values["signing-seed"],
    refund_delay_ms: values["refund-delay-ms"] === undefined ? undefined : Number(values["refund-delay-ms"]),
  }));
