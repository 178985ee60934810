import type { KubernetesObject } from "@kubernetes/client-node";
import { TARGET_SESSION_LABEL } from "../api/resources";
import { JarCache } from "../artifacts/cache";
import { log } from "../log";
import { queueOptions } from "./controller";
import { errorText } from "./errors";
import { listFlinkSessionJobs } from "./kube";
import { OperatorConfigSource, operatorConfigSource } from "./operator-config";
import { ReconcileQueue } from "./queue";
import { reconcileSessionJob } from "./sessionjob";

const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;

export interface SessionView {
  spec?: { job?: unknown; deploymentName?: string };
  status?: {
    jobManagerDeploymentStatus?: string;
    reconciliationStatus?: { state?: string; operation?: unknown };
  };
}

/**
 * The FlinkSessionJob controller: the same kind of work queue as FlinkDeployments (requeue, backoff, the operator
 * ConfigMap's parallelism), with one jar cache for all its passes. Session jobs are woken by their own new
 * generations and deletions, and by what matters to them in their session FlinkDeployment: its JobManager
 * becoming ready or not, an upgrade starting or ending, the cluster recreated or deleted.
 */
export function sessionJobController(
  source: OperatorConfigSource = operatorConfigSource(),
  jars: JarCache = new JarCache(),
  listAll: () => Promise<KubernetesObject[]> = listFlinkSessionJobs,
) {
  const defaults = async () => {
    const config = await source.get();
    queue.configure(queueOptions(config));
    return config;
  };
  const queue: ReconcileQueue = new ReconcileQueue(
    key => {
      const [namespace, name] = key.split("/");
      return reconcileSessionJob(namespace, name, { defaults, jars });
    },
    {
      ...queueOptions(undefined),
      concurrency: 1,
      onError: (key, error, retryInMs) => {
        const [namespace, name] = key.split("/");
        log.error("reconcile failed", {
          kind: "FlinkSessionJob",
          namespace,
          name,
          retryInMs,
          error: errorText(error),
        });
      },
    },
  );
  const seen = new Map<string, string>();
  // Session (namespace/name) -> its session jobs' keys, from the session jobs' own events.
  const bySession = new Map<string, Set<string>>();
  const sessionOf = new Map<string, string>();
  const seenSessions = new Map<string, string>();

  const index = (o: KubernetesObject & SessionView) => {
    const key = keyOf(o);
    const target = o.metadata?.labels?.[TARGET_SESSION_LABEL] ?? o.spec?.deploymentName;
    if (!target) return;
    const session = `${o.metadata?.namespace}/${target}`;
    sessionOf.set(key, session);
    if (!bySession.has(session)) bySession.set(session, new Set());
    bySession.get(session)!.add(key);
  };
  const unindex = (key: string) => {
    const session = sessionOf.get(key);
    sessionOf.delete(key);
    if (!session) return;
    bySession.get(session)?.delete(key);
    if (bySession.get(session)?.size === 0) bySession.delete(session);
  };

  /** A session job's event: only a new generation or a deletion is news (status writes come back too). */
  const changed = (o: KubernetesObject) => {
    const key = keyOf(o);
    index(o);
    const signature = `${o.metadata?.uid}|${o.metadata?.generation}|${o.metadata?.deletionTimestamp ?? ""}`;
    if (seen.get(key) === signature) return;
    seen.set(key, signature);
    queue.add(key);
  };
  const forget = (key: string) => {
    seen.delete(key);
    unindex(key);
    queue.forget(key);
  };

  return {
    queue,
    changed,
    deleted: (o: KubernetesObject) => forget(keyOf(o)),
    /**
     * The safety net under the watch, as for FlinkDeployments: a full list taken as the watch would have
     * delivered it, vanished session jobs forgotten, and passes waiting out a failure's backoff run now.
     */
    resync: async () => {
      const items = await listAll();
      const present = new Set(items.map(keyOf));
      for (const o of items) changed(o);
      for (const key of [...seen.keys()]) if (!present.has(key)) forget(key);
      queue.retryFailedNow();
    },
    /** A FlinkDeployment's event: wakes the session jobs of a session cluster whose readiness changed. */
    sessionChanged: (o: KubernetesObject & SessionView, phase?: "DELETED") => {
      if (o.spec?.job) return;
      const session = keyOf(o);
      const rs = o.status?.reconciliationStatus;
      const signature = [
        o.metadata?.uid,
        o.status?.jobManagerDeploymentStatus,
        rs?.state,
        !!rs?.operation,
        o.metadata?.deletionTimestamp ?? "",
      ].join("|");
      if (phase === "DELETED") seenSessions.delete(session);
      else if (seenSessions.get(session) === signature) return;
      else seenSessions.set(session, signature);
      for (const key of bySession.get(session) ?? []) queue.add(key);
    },
  };
}
