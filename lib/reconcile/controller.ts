import type { KubernetesObject, V1Pod } from "@kubernetes/client-node";
import { log } from "../log";
import { operatorWideSettings } from "../settings";
import { reconcileDeployment } from "./deployment";
import { errorText } from "./errors";
import { listFlinkDeployments } from "./kube";
import { OperatorConfigSource, operatorConfigSource } from "./operator-config";
import { QueueOptions, ReconcileQueue } from "./queue";
import { podBlockedBy } from "./why-stuck";

/** The `type` label of pods Flink's clusters run (lib/builders/metadata.ts, Flink's native client). */
const FLINK_POD_TYPES = new Set(["flink-native-kubernetes", "flink-standalone-kubernetes"]);
/** Flink fails a job over within about a second of a lost pod (its resource manager watches them). */
const FLINK_REACTION_MS = 3_000;

const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;

/** The work queue's options from the operator ConfigMap (defaults where it says nothing). */
export function queueOptions(
  operatorConfig: Record<string, string> | undefined,
): Omit<QueueOptions, "onError" | "random"> {
  const settings = operatorWideSettings(operatorConfig);
  const parallelism = settings.int("reconcile.parallelism");
  return {
    concurrency: parallelism === -1 ? Infinity : parallelism,
    initialBackoffMs: settings.durationMs("retry.initial.interval"),
    maxBackoffMs: settings.durationMs("retry.max.interval"),
    backoffMultiplier: settings.number("retry.interval.multiplier"),
  };
}

/**
 * The FlinkDeployment controller: Pepr's watch feeds keys in, the queue runs passes with requeue and backoff.
 * Every pass reads the operator ConfigMap (a cached copy) and applies its parallelism and backoff to the
 * queue, so an edit takes effect at the next pass. Until a pass has read it, one pass runs at a time.
 */
export function deploymentController(
  source: OperatorConfigSource = operatorConfigSource(),
  listAll: () => Promise<KubernetesObject[]> = listFlinkDeployments,
) {
  const defaults = async () => {
    const config = await source.get();
    queue.configure(queueOptions(config));
    return config;
  };
  const queue: ReconcileQueue = new ReconcileQueue(
    key => {
      const [namespace, name] = key.split("/");
      return reconcileDeployment(namespace, name, { defaults });
    },
    {
      ...queueOptions(undefined),
      concurrency: 1,
      onError: (key, error, retryInMs) => {
        const [namespace, name] = key.split("/");
        log.error("reconcile failed", {
          kind: "FlinkDeployment",
          namespace,
          name,
          retryInMs,
          error: errorText(error),
        });
      },
    },
  );
  // The operator's own status and finalizer writes come back as watch events; only a new generation or a
  // deletion is news. Everything else is picked up by the pass's own requeue.
  const seen = new Map<string, string>();
  const seenWorkloads = new Map<string, string>();
  const seenPods = new Map<string, string>();
  const changed = (o: KubernetesObject) => {
    const key = keyOf(o);
    const signature = `${o.metadata?.uid}|${o.metadata?.generation}|${o.metadata?.deletionTimestamp ?? ""}`;
    if (seen.get(key) === signature) return;
    seen.set(key, signature);
    queue.add(key);
  };
  const forget = (key: string) => {
    seen.delete(key);
    queue.forget(key);
  };
  return {
    queue,
    changed,
    deleted: (o: KubernetesObject) => forget(keyOf(o)),
    /**
     * The safety net under the watch: a full list, taken as the watch would have delivered it (new, changed and
     * deleting resources are queued, vanished ones forgotten), and passes waiting out a failure's backoff run
     * now. Run when a watch is back after an outage, and periodically.
     */
    resync: async () => {
      const items = await listAll();
      const present = new Set(items.map(keyOf));
      for (const o of items) changed(o);
      for (const key of [...seen.keys()]) if (!present.has(key)) forget(key);
      queue.retryFailedNow();
    },
    // A workload's readiness, failure to create pods or disappearance is news to its FlinkDeployment: without
    // this, a JobManager becoming ready, unable to start or deleted behind the operator's back would wait for
    // the next timed pass.
    workloadChanged: (o: KubernetesObject, phase?: string) => {
      const owner = o.metadata?.ownerReferences?.find(
        r => r.controller && r.kind === "FlinkDeployment",
      );
      if (!owner) return;
      const key = `${o.metadata?.namespace}/${owner.name}`;
      const childKey = `${o.kind}/${o.metadata?.namespace}/${o.metadata?.name}`;
      if (phase === "DELETED") {
        seenWorkloads.delete(childKey);
        return queue.add(key);
      }
      const { status } = o as {
        status?: { readyReplicas?: number; conditions?: { type: string; status: string }[] };
      };
      const ready = status?.readyReplicas ?? 0;
      const failing = !!status?.conditions?.some(
        c => c.type === "ReplicaFailure" && c.status === "True",
      );
      const signature = `${o.metadata?.uid}|${ready}|${failing}`;
      const previous = seenWorkloads.get(childKey);
      seenWorkloads.set(childKey, signature);
      // A workload seen for the first time not ready yet was just created by a pass, which requeues itself.
      if (previous === signature || (previous === undefined && ready === 0)) return;
      queue.add(key);
    },
    // A JobManager or TaskManager pod that restarts a container, fails or goes away changes what its job can do:
    // the FlinkDeployment (label app) is looked at now, and again once Flink has had a moment to react, so a job
    // failure shows in status within seconds without polling every job that often.
    podChanged: (o: KubernetesObject, phase?: string) => {
      const labels = o.metadata?.labels ?? {};
      if (!FLINK_POD_TYPES.has(labels.type ?? "") || !labels.app) return;
      const key = `${o.metadata?.namespace}/${labels.app}`;
      const podKey = `${o.metadata?.namespace}/${o.metadata?.name}`;
      const pod = o as V1Pod;
      const restarts = (pod.status?.containerStatuses ?? []).reduce(
        (n, c) => n + (c.restartCount ?? 0),
        0,
      );
      // A pod that becomes unable to run (an image, a schedule) is news too: why-stuck.ts says why.
      const signature = `${o.metadata?.uid}|${restarts}|${pod.status?.phase === "Failed"}|${podBlockedBy(pod)}`;
      const previous = seenPods.get(podKey);
      if (phase === "DELETED") seenPods.delete(podKey);
      else {
        seenPods.set(podKey, signature);
        if (previous === undefined || previous === signature) return;
      }
      queue.add(key);
      setTimeout(() => queue.add(key), FLINK_REACTION_MS).unref();
    },
  };
}
