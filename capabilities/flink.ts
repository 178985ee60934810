import { a, Capability } from "pepr";
import {
  admitFlinkDeployment,
  admitFlinkSessionJob,
  applyDefaults,
  applySessionJobDefaults,
  mutationDenials,
  serviceAccountToCheck,
} from "../lib/admission";
import { FlinkDeployment, FlinkSessionJob } from "../lib/api/kinds";
import { deploymentController } from "../lib/reconcile/controller";
import { getFlinkDeployment, serviceAccountExists } from "../lib/reconcile/kube";
import { ADMISSION_CONFIG_WAIT_MS, operatorConfigSource } from "../lib/reconcile/operator-config";
import { sessionJobController } from "../lib/reconcile/sessionjob-controller";

export const FlinkOperator = new Capability({
  name: "flink-operator",
  description: "Admission and reconciliation of FlinkDeployment and FlinkSessionJob",
});

const { When } = FlinkOperator;
// One cached operator ConfigMap per process, for admission and the reconciler alike.
const operatorConfig = operatorConfigSource();
/** pepr.ts hands its resync to the module's supervision. */
export const deployments = deploymentController(operatorConfig);
/** pepr.ts hands its resync to the module's supervision too. */
export const sessionJobs = sessionJobController(operatorConfig);
// On a create Pepr has no old object: null, so that admission knows there is no stored status either.
const admissionContext = async (old: unknown) => ({
  ...(await operatorConfig.within(ADMISSION_CONFIG_WAIT_MS)),
  old: old ?? null,
});
/** How long admission waits for the service account look-up before it judges without it. */
const SERVICE_ACCOUNT_WAIT_MS = 1_000;
/** Whether the FlinkDeployment's service account exists, when that is judged and known in time. */
async function serviceAccountContext(dep: unknown, old: unknown) {
  const sa = serviceAccountToCheck(dep, { old: old ?? null });
  if (!sa) return {};
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<undefined>(resolve => {
    timer = setTimeout(() => resolve(undefined), SERVICE_ACCOUNT_WAIT_MS);
  });
  const exists = await Promise.race([serviceAccountExists(sa.namespace, sa.name), late]);
  clearTimeout(timer);
  return { serviceAccountExists: exists };
}
/** pepr.ts passes denials.afterHook to the module. */
export const denials = mutationDenials();

const sessionOf = async (job: FlinkSessionJob) => {
  const { namespace } = job.metadata ?? {};
  const target = job.spec?.deploymentName;
  return namespace && target ? getFlinkDeployment(namespace, target) : undefined;
};

// Mutate denies with every problem before the apiserver's CEL rules run; Validate judges the final object.
When(FlinkDeployment)
  .IsCreatedOrUpdated()
  .Mutate(async req => {
    const v = admitFlinkDeployment(applyDefaults(req.Raw), await admissionContext(req.OldResource));
    if (!v.allowed) denials.deny(req.Request.uid, v);
  })
  .Validate(async req => {
    // Only the validating webhook's warnings reach the user, so only it looks the account up.
    const [ctx, sa] = await Promise.all([
      admissionContext(req.OldResource),
      serviceAccountContext(req.Raw, req.OldResource),
    ]);
    const v = admitFlinkDeployment(req.Raw, { ...ctx, ...sa });
    return v.allowed ? req.Approve(v.warnings) : req.Deny(v.message, 422, v.warnings);
  });

When(FlinkSessionJob)
  .IsCreatedOrUpdated()
  .Mutate(async req => {
    const job = applySessionJobDefaults(req.Raw);
    const v = admitFlinkSessionJob(
      job,
      await sessionOf(job),
      await admissionContext(req.OldResource),
    );
    if (!v.allowed) denials.deny(req.Request.uid, v);
  })
  .Validate(async req => {
    const v = admitFlinkSessionJob(
      req.Raw,
      await sessionOf(req.Raw),
      await admissionContext(req.OldResource),
    );
    return v.allowed ? req.Approve(v.warnings) : req.Deny(v.message, 422, v.warnings);
  });

// One watch of FlinkDeployments feeds both queues: a session cluster's changes wake its session jobs.
When(FlinkDeployment)
  .IsCreatedOrUpdated()
  .Reconcile(o => {
    deployments.changed(o);
    sessionJobs.sessionChanged(o);
  });
When(FlinkDeployment)
  .IsDeleted()
  .Reconcile(o => {
    deployments.deleted(o);
    sessionJobs.sessionChanged(o, "DELETED");
  });
When(FlinkSessionJob).IsCreatedOrUpdated().Reconcile(sessionJobs.changed);
When(FlinkSessionJob).IsDeleted().Reconcile(sessionJobs.deleted);
// Flink's pods: a restart, failure or deletion wakes their FlinkDeployment (label app) at once.
When(a.Pod)
  .IsCreatedOrUpdated()
  .WithLabel("type")
  .WithLabel("component")
  .Watch(o => deployments.podChanged(o));
When(a.Pod)
  .IsDeleted()
  .WithLabel("type")
  .WithLabel("component")
  .Watch(o => deployments.podChanged(o, "DELETED"));
// Only the operator's workloads carry Flink's "type" label; the selector is applied by the apiserver.
for (const workload of [a.Deployment, a.StatefulSet]) {
  When(workload)
    .IsCreatedOrUpdated()
    .WithLabel("type")
    .Watch(o => deployments.workloadChanged(o));
  When(workload)
    .IsDeleted()
    .WithLabel("type")
    .Watch(o => deployments.workloadChanged(o, "DELETED"));
}
