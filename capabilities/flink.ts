import { a, Capability } from "pepr";
import {
  admitFlinkDeployment,
  admitFlinkSessionJob,
  applyDefaults,
  applySessionJobDefaults,
  mutationDenials,
} from "../lib/admission";
import { FlinkDeployment, FlinkSessionJob } from "../lib/api/kinds";
import { deploymentController } from "../lib/reconcile/controller";
import { getFlinkDeployment } from "../lib/reconcile/kube";
import { ADMISSION_CONFIG_WAIT_MS, operatorConfigSource } from "../lib/reconcile/operator-config";

export const FlinkOperator = new Capability({
  name: "flink-operator",
  description: "Admission and reconciliation of FlinkDeployment and FlinkSessionJob",
});

const { When } = FlinkOperator;
// One cached operator ConfigMap per process, for admission and the reconciler alike.
const operatorConfig = operatorConfigSource();
const deployments = deploymentController(operatorConfig);
// On a create Pepr has no old object: null, so that admission knows there is no stored status either.
const admissionContext = async (old: unknown) => ({
  ...(await operatorConfig.within(ADMISSION_CONFIG_WAIT_MS)),
  old: old ?? null,
});
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
    const v = admitFlinkDeployment(req.Raw, await admissionContext(req.OldResource));
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

When(FlinkDeployment).IsCreatedOrUpdated().Reconcile(deployments.changed);
When(FlinkDeployment).IsDeleted().Reconcile(deployments.deleted);
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
