import { existsSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import type { ControlPlane } from "./controlplane";
import { run } from "./proc";

const CRDS = fileURLToPath(new URL("../../crds", import.meta.url));

/** Plain client-side apply, then wait until the API serves them: the module's watches need the kinds to exist. */
export async function installCrds(cp: Pick<ControlPlane, "kubectl" | "kubeconfig">): Promise<void> {
  const manifests = existsSync(CRDS) ? readdirSync(CRDS).filter(f => /\.ya?ml$/.test(f)) : [];
  if (manifests.length === 0) throw new Error(`no CRD manifests in ${CRDS}`);
  const kubectl = (...args: string[]) =>
    run(cp.kubectl, [`--kubeconfig=${cp.kubeconfig}`, ...args], { quiet: true });
  await kubectl("apply", "-f", CRDS);
  await kubectl("wait", "--for=condition=Established", "--timeout=60s", "-f", CRDS);
}
