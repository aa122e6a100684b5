// Runs the sandbox BNPL provider as its own process:
//   tsx src/sandbox/bnpl/main.ts --port 4105 --notify-url http://127.0.0.1:4000/v1/channels/sandboxbnpl/notifications
// Prints one JSON line once listening: {"channel":"sandboxbnpl","url":"http://127.0.0.1:4105"}.
import { runSandboxService } from "../service-main.ts";
import { startSandboxBnpl } from "./index.ts";

runSandboxService({ "notification-secret": { type: "string" }, "public-url": { type: "string" } }, (args, values) =>
  startSandboxBnpl({ ...args, notification_secret: values["notification-secret"], public_url: values["public-url"] }));
