import { mkdir, rm, writeFile } from "node:fs/promises";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { cacheDir } from "../../../lib/cache";
import { startControlPlane, type ControlPlane } from "../../../scripts/sandbox/controlplane";
import { installCrds } from "../../../scripts/sandbox/crds";
import { startModule, type RunningModule } from "../../../scripts/sandbox/module";

declare module "vitest" {
  export interface ProvidedContext {
    /** Admin kubeconfig of the run's control plane (also in process.env.KUBECONFIG). */
    kubeconfig: string;
    /** kubectl built from the same Kubernetes version as the control plane. */
    kubectl: string;
    /**
     * File holding the pid of scripts/dev.ts, whose child process is the module (the operator): killing that
     * child is a crash, dev.ts starts it again. A file, because the e2e project may start the module anew.
     */
    modulePidFile: string;
    /** The apiserver's audit log: requests made with service account tokens (see controlplane.ts). */
    auditLog: string;
  }
}

/**
 * One control plane and one running Pepr module (as `npm run dev` runs it) for the whole k8s project.
 * Any failure to start fails the run; teardown runs whether tests pass or fail.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  // Logs outlive the run so a failure can be read afterwards.
  const logDir = cacheDir("sandbox", "logs", "k8s-tests");
  await rm(logDir, { recursive: true, force: true });
  await mkdir(logDir, { recursive: true });

  let cp: ControlPlane | undefined;
  let mod: RunningModule | undefined;
  const teardown = async () => {
    await mod?.stop();
    await cp?.stop();
  };
  try {
    cp = await startControlPlane({ logDir, auditLog: true });
    await installCrds(cp);
    mod = await startModule({ kubeconfig: cp.kubeconfig, logFile: join(logDir, "module.log") });
    await writeFile(join(logDir, "module.pid"), String(mod.supervisorPid));
  } catch (err) {
    await teardown();
    throw new Error(
      `k8s integration set-up failed (logs in ${logDir}): ${err instanceof Error ? err.message : err}`,
      {
        cause: err,
      },
    );
  }
  process.env.KUBECONFIG = cp.kubeconfig;
  project.provide("kubeconfig", cp.kubeconfig);
  project.provide("kubectl", cp.kubectl);
  project.provide("modulePidFile", join(logDir, "module.pid"));
  project.provide("auditLog", cp.auditLog!);
  return teardown;
}
