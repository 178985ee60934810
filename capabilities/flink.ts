import { a, Capability } from "pepr";
import {
  admitFlinkDeployment,
  admitFlinkSessionJob,
  applyDefaults,
  applySessionJobDefaults,
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
const admissionContext = async (old: unknown) => ({
  ...(await operatorConfig.within(ADMISSION_CONFIG_WAIT_MS)),
  old,
});

When(FlinkDeployment)
  .IsCreatedOrUpdated()
  .Mutate(req => void applyDefaults(req.Raw))
  .Validate(async req => {
    const v = admitFlinkDeployment(req.Raw, await admissionContext(req.OldResource));
    return v.allowed ? req.Approve(v.warnings) : req.Deny(v.message, 422, v.warnings);
  });

When(FlinkSessionJob)
  .IsCreatedOrUpdated()
  .Mutate(req => void applySessionJobDefaults(req.Raw))
  .Validate(async req => {
    const { namespace } = req.Raw.metadata ?? {};
    const target = req.Raw.spec?.deploymentName;
    const session = namespace && target ? await getFlinkDeployment(namespace, target) : undefined;
    const v = admitFlinkSessionJob(req.Raw, session, await admissionContext(req.OldResource));
    return v.allowed ? req.Approve(v.warnings) : req.Deny(v.message, 422, v.warnings);
  });

When(FlinkDeployment).IsCreatedOrUpdated().Reconcile(deployments.changed);
When(FlinkDeployment).IsDeleted().Reconcile(deployments.deleted);
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
