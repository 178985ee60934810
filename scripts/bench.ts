import { benchAdmission } from "./bench/admission";
import { benchProvision } from "./bench/provision";
import { benchRealNode } from "./bench/realnode";
import { benchUpgrade } from "./bench/upgrade";
import { benchValidation } from "./bench/validation";

/** `npm run bench [-- name ...]`: runs the named benchmarks, or all that need no running servers. */
const benchmarks: Record<string, () => Promise<void>> = {
  validation: benchValidation,
  provision: benchProvision,
  admission: benchAdmission,
  node: benchRealNode,
  upgrade: benchUpgrade,
};
/** Start a control plane and the module; run only when named. */
const needsServers = new Set(["provision", "admission", "node", "upgrade"]);

async function main() {
  const names = process.argv.slice(2);
  const unknown = names.filter(n => !(n in benchmarks));
  if (unknown.length)
    throw new Error(
      `unknown benchmark ${unknown.join(", ")}; known: ${Object.keys(benchmarks).join(", ")}`,
    );
  for (const name of names.length
    ? names
    : Object.keys(benchmarks).filter(n => !needsServers.has(n)))
    await benchmarks[name]();
}

main().catch(e => {
  console.error(e);
  process.exit(1);
});
