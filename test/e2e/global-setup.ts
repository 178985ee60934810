import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { cacheDir } from "../../lib/cache";
import { startControlPlane, type ControlPlane } from "../../scripts/sandbox/controlplane";
import { installCrds } from "../../scripts/sandbox/crds";
import { hostLeftovers } from "../../scripts/sandbox/host";
import { startModule, type RunningModule } from "../../scripts/sandbox/module";

declare module "vitest" {
  export interface ProvidedContext {
    /** State directory of the run's sandbox (state.json records the start-up steps in order). */
    sandboxDir: string;
    /** Where a test arms the operator's crash points (lib/reconcile/crash-points.ts). */
    crashDir: string;
  }
}

/**
 * One control plane with the real node (root: containerd, kubelet, kube-proxy, CoreDNS), the CRDs and the
 * operator, for the whole e2e project. A failure to start fails the run; teardown undoes every host change.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const logDir = cacheDir("sandbox", "logs", "e2e-tests");
  await rm(logDir, { recursive: true, force: true });
  await mkdir(logDir, { recursive: true });
  const crashDir = join(logDir, "crash-points");
  await mkdir(crashDir);
  let cp: ControlPlane | undefined;
  let mod: RunningModule | undefined;
  const teardown = async () => {
    await mod?.stop();
    await cp?.stop();
    // The sandbox must leave the host as it found it: a leftover fails the run.
    const left = await hostLeftovers();
    if (left.length) throw new Error(`the real node left behind: ${left.join(", ")}`);
  };
  try {
    cp = await startControlPlane({ logDir, node: "real" });
    await installCrds(cp);
    mod = await startModule({
      // The crash-safety tests arm the module's crash points here.
      env: { FLINK_PEPR_CRASH_DIR: crashDir },
      kubeconfig: cp.kubeconfig,
      logFile: join(logDir, "module.log"),
    });
  } catch (err) {
    await teardown();
    throw new Error(
      `e2e set-up failed (logs in ${logDir}): ${err instanceof Error ? err.message : err}`,
      { cause: err },
    );
  }
  // Not process.env.KUBECONFIG: the k8s project's set-up in the same process sets that for its own cluster.
  project.provide("kubeconfig", cp.kubeconfig);
  project.provide("kubectl", cp.kubectl);
  project.provide("moduleSupervisorPid", mod.supervisorPid);
  project.provide("sandboxDir", cp.dir);
  project.provide("crashDir", crashDir);
  return teardown;
}
