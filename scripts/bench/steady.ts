import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";
import { K8s } from "kubernetes-fluent-client";
import { FlinkDeployment } from "../../lib/api/kinds";
import { cacheDir } from "../../lib/cache";
import { startControlPlane, type ControlPlane } from "../sandbox/controlplane";
import { installCrds } from "../sandbox/crds";
import { startModule, type RunningModule } from "../sandbox/module";
import {
  allReady,
  CLIENT_RATE_LIMITS,
  createNamespace,
  names,
  pool,
  RATE_LIMITS_NOTE,
  sessionCluster,
  waitUntil,
} from "./provision";
import {
  apiserverRequests,
  cpuSeconds,
  difference,
  goal,
  isWatch,
  OPERATOR_USER,
  operatorRequests,
  rssMiB,
  table,
  total,
} from "./requests";

/*
 * npm run bench -- steady: N stable FlinkDeployments (native session clusters, READY) held for a while; what the
 * operator costs meanwhile: API requests per second by verb and resource, resident memory, CPU.
 */
const SIZE = Number(process.env.STEADY_SIZE ?? 1000);
const HOLD_S = Number(process.env.STEADY_SECONDS ?? 300);
/** After every FlinkDeployment is READY: the passes that follow readiness settle first. */
const SETTLE_S = 70;

export async function benchSteady(): Promise<void> {
  const logDir = cacheDir("sandbox", "logs", "bench-steady");
  await rm(logDir, { recursive: true, force: true });
  await mkdir(logDir, { recursive: true });
  let cp: ControlPlane | undefined;
  let mod: RunningModule | undefined;
  try {
    cp = await startControlPlane({
      logDir,
      auditUsers: [OPERATOR_USER],
      clientRateLimits: CLIENT_RATE_LIMITS,
    });
    process.env.KUBECONFIG = cp.kubeconfig;
    await installCrds(cp);
    mod = await startModule({
      kubeconfig: cp.operatorKubeconfig,
      logFile: join(logDir, "module.log"),
    });
    console.log(
      `steady benchmark: ${SIZE} native session FlinkDeployments READY, then held ${HOLD_S} s (logs in ${logDir});\n  ${RATE_LIMITS_NOTE}`,
    );
    const namespace = "steady";
    await createNamespace(namespace);
    await pool(names(SIZE), 20, name =>
      K8s(FlinkDeployment).Apply(sessionCluster(namespace, name) as never),
    );
    await waitUntil("every FlinkDeployment READY", () => allReady(namespace, SIZE));
    await new Promise(r => setTimeout(r, SETTLE_S * 1000));

    const from = Date.now();
    const metricsBefore = await apiserverRequests();
    const cpuBefore = cpuSeconds(mod.pid());
    let peak = 0;
    const sampler = setInterval(() => (peak = Math.max(peak, rssMiB(mod!.pid()).now)), 1_000);
    await new Promise(r => setTimeout(r, HOLD_S * 1000));
    clearInterval(sampler);
    const to = Date.now();
    const seconds = (to - from) / 1000;
    const cpu = cpuSeconds(mod.pid()) - cpuBefore;
    const rss = rssMiB(mod.pid()).now;
    const all = difference(await apiserverRequests(), metricsBefore);
    await new Promise(r => setTimeout(r, 1_000));
    const ops = operatorRequests(cp.auditLog!, from, to);
    const requests = total(ops, isWatch);
    console.log(
      [
        `  N=${SIZE}, ${seconds.toFixed(0)} s`,
        goal(
          `    operator API requests ${(requests / seconds).toFixed(2)}/s`,
          "at most 2/s at N=1,000 (watches excluded)",
        ),
        `    watches opened: ${total(ops) - requests}`,
        goal(
          `    operator RSS ${rss.toFixed(0)} MiB (peak ${peak.toFixed(0)})`,
          "at most 150 MiB at N=1,000",
        ),
        goal(
          `    operator CPU ${((100 * cpu) / seconds).toFixed(2)}% of a core`,
          "under 2% at N=1,000",
        ),
        `    per second by verb and resource (the operator's identity, from the audit log):`,
        table(ops, seconds, "      "),
        `    apiserver_request_total per second (every client; the metric has no client label):`,
        table(new Map([...all].sort((a, b) => b[1] - a[1]).slice(0, 12)), seconds, "      "),
      ].join("\n"),
    );
  } finally {
    await mod?.stop();
    await cp?.stop();
  }
}
