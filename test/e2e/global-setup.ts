import { mkdir, rm, writeFile } from "node:fs/promises";
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
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
    /**
     * Loopback URL: POST /module/stop stops the host's operator (its webhook configurations removed), POST
     * /module/start starts it again. in-cluster.test.ts installs the operator into the node meanwhile.
     */
    moduleControl: string;
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
  const control = createServer((req, res) => {
    const act =
      req.method !== "POST"
        ? undefined
        : req.url === "/module/stop"
          ? async () => {
              await mod?.stop();
              mod = undefined;
            }
          : req.url === "/module/start"
            ? async () => {
                mod ??= await startHostModule();
              }
            : undefined;
    if (!act) return void res.writeHead(404).end();
    act().then(
      () => res.writeHead(200).end("ok"),
      err => res.writeHead(500).end(String(err)),
    );
  });
  // in-cluster.test.ts restarts the module, so its pid is read from a file at each use, not provided once.
  const modulePidFile = join(logDir, "module.pid");
  const startHostModule = async () => {
    const started = await startModule({
      // The crash-safety tests arm the module's crash points here.
      env: { FLINK_PEPR_CRASH_DIR: crashDir },
      kubeconfig: cp!.kubeconfig,
      logFile: join(logDir, "module.log"),
    });
    await writeFile(modulePidFile, String(started.supervisorPid));
    return started;
  };
  const teardown = async () => {
    control.close();
    await mod?.stop();
    await cp?.stop();
    // The sandbox must leave the host as it found it: a leftover fails the run.
    const left = await hostLeftovers();
    if (left.length) throw new Error(`the real node left behind: ${left.join(", ")}`);
  };
  try {
    cp = await startControlPlane({ logDir, node: "real" });
    await installCrds(cp);
    mod = await startHostModule();
    await new Promise<void>(resolve => control.listen(0, "127.0.0.1", resolve));
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
  project.provide("modulePidFile", modulePidFile);
  project.provide("sandboxDir", cp.dir);
  project.provide("crashDir", crashDir);
  project.provide("moduleControl", `http://127.0.0.1:${(control.address() as AddressInfo).port}`);
  return teardown;
}
