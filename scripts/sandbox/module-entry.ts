import { Server } from "node:net";
import { createRequire } from "node:module";
import { installHostsOnlyDns } from "./hosts-only-dns";

/*
 * Entry of the module process started by scripts/dev.ts. Pepr 1.1.4 listens on port 3000 of every interface
 * (Controller.startServer calls listen(3000) with no host and no way to configure either), so before loading the
 * bundle we redirect that one listen call to the loopback address and free port chosen by the runner.
 */
const [host, port] = (process.env.FLINK_PEPR_DEV_LISTEN ?? "").split(":");
const bundle = process.argv[2];
if (!host || !port || !bundle)
  throw new Error("usage: FLINK_PEPR_DEV_LISTEN=host:port module-entry.ts <bundle.js>");

const PEPR_PORT = 3000;
const listen = Server.prototype.listen as (this: Server, ...args: unknown[]) => Server;
Server.prototype.listen = function (this: Server, ...args: unknown[]) {
  if (args[0] !== PEPR_PORT) return listen.apply(this, args);
  return listen.call(
    this,
    Number(port),
    host,
    args.find(a => typeof a === "function"),
  );
} as Server["listen"];

if (process.env.FLINK_PEPR_DNS === "hosts-only") installHostsOnlyDns();

createRequire(import.meta.url)(bundle);
