import { PeprModule } from "pepr";
import cfg from "./package.json";
import { FlinkOperator, denials, deployments, sessionJobs } from "./capabilities/flink";
import { runsWatches, superviseModule } from "./lib/reconcile/module-health";

const start = () => new PeprModule(cfg, [FlinkOperator], { afterHook: denials.afterHook });

// pepr build loads the module only to read its capabilities: no cluster to wait for.
if (process.env.PEPR_MODE === "build") start();
else
  superviseModule({
    start,
    onStoreReady: FlinkOperator.Store.onReady,
    resync: runsWatches()
      ? () => Promise.all([deployments.resync(), sessionJobs.resync()]).then(() => undefined)
      : undefined,
    address: process.env.FLINK_OPERATOR_HEALTH_ADDRESS,
  });
