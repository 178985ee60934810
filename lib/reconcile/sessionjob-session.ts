import { FlinkDeployment } from "../api/kinds";
import { isHaEnabled } from "../api/flink-config";
import { parseReconciledSpec } from "../api/reconciled-spec";
import { FlinkDeploymentObject } from "../api/resources";
import type { FlinkDeploymentSpec } from "../api/spec";
import { restPort } from "../builders/flink-conf";
import { clusterOf, restServiceName } from "../builders/metadata";
import { resolveSettings } from "../settings";
import { Blocked } from "./status";

/** A session cluster a job can be submitted to: its REST Service and whether Flink's HA keeps its jobs. */
export interface ReadySession {
  rest: { name: string; namespace: string; port: number };
  ha: boolean;
  /**
   * The session is about to stop (its operation's `session-jobs` step): its JobManager still runs, for the
   * session jobs to stop in their upgrade modes; nothing is submitted to it.
   */
  stopping?: boolean;
}

/**
 * Whether the session FlinkDeployment runs the spec it was last given, with a ready JobManager, as its own
 * status says (its pass watches the workloads); the REST Service and HA setting of that spec.
 */
export function sessionReadiness(
  session: FlinkDeployment | undefined,
  name: string,
  operatorConfig: Record<string, string>,
): { ready: ReadySession } | { blocked: Blocked } {
  if (!session)
    return {
      blocked: {
        reason: "SessionNotFound",
        message: `the session cluster (FlinkDeployment "${name}") does not exist`,
      },
    };
  const s = session.status;
  const rs = s?.reconciliationStatus;
  const deployed = parseReconciledSpec<FlinkDeploymentSpec>(rs?.lastReconciledSpec);
  if (session.spec?.job || deployed?.spec.job)
    return {
      blocked: {
        reason: "SessionNotFound",
        message: `"${name}" is an application cluster; session jobs need a session FlinkDeployment`,
      },
    };
  const stopping = rs?.operation?.step === "session-jobs";
  // While stopping, the JobManager runs the spec the session last ran, not the upgrade's target.
  const running = stopping
    ? (parseReconciledSpec<FlinkDeploymentSpec>(rs?.lastStableSpec) ?? deployed)
    : deployed;
  if (
    !running ||
    s?.jobManagerDeploymentStatus !== "READY" ||
    (!stopping && (rs?.state !== "DEPLOYED" || rs.operation))
  )
    return {
      blocked: {
        reason: "SessionNotReady",
        message: `the session cluster "${name}" is not ready (JobManager ${s?.jobManagerDeploymentStatus ?? "not deployed yet"}${rs?.state === "UPGRADING" || rs?.operation ? ", upgrading" : ""})`,
      },
    };
  const namespace = session.metadata!.namespace!;
  const { config } = resolveSettings({
    operatorConfig,
    namespace,
    flinkVersion: running.spec.flinkVersion,
    resource: running.spec.flinkConfiguration as Record<string, string> | undefined,
  });
  const cluster = clusterOf(session as unknown as FlinkDeploymentObject, 1);
  return {
    ready: {
      rest: { name: restServiceName(cluster), namespace, port: restPort(config) },
      ha: isHaEnabled(config),
      ...(stopping ? { stopping } : {}),
    },
  };
}
