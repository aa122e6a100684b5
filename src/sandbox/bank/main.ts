// Runs the sandbox bank as its own process:
//   tsx src/sandbox/bank/main.ts --port 4103 --notify-url http://127.0.0.1:4000/v1/channels/sandboxbank/notifications
// Prints one JSON line once listening: {"channel":"sandboxbank","url":"http://127.0.0.1:4103"}.
import { runSandboxService } from "../service-main.ts";
import { startSandboxBank } from "./index.ts";

runSandboxService({ "notification-secret": { type: "string" } }, (args, values) =>
  startSandboxBank({ ...args, notification_secret: values["notification-secret"] }));
