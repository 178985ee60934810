import type { KubernetesObject } from "@kubernetes/client-node";
import { log } from "../log";
import { operatorSettings } from "../settings";
import { reconcileDeployment } from "./deployment";
import { operatorConfigLoader } from "./operator-config";
import { ReconcileQueue } from "./queue";

const keyOf = (o: KubernetesObject) => `${o.metadata?.namespace}/${o.metadata?.name}`;

/** The FlinkDeployment controller: Pepr's watch feeds keys in, the queue runs passes with requeue and backoff. */
export function deploymentController() {
  const defaults = operatorConfigLoader();
  const settings = operatorSettings();
  const queue = new ReconcileQueue(
    key => {
      const [namespace, name] = key.split("/");
      return reconcileDeployment(namespace, name, { defaults });
    },
    {
      concurrency: settings.int("reconcile.parallelism"),
      initialBackoffMs: settings.durationMs("retry.initial.interval"),
      maxBackoffMs: settings.durationMs("retry.max.interval"),
      backoffMultiplier: settings.number("retry.interval.multiplier"),
      onError: (key, error, retryInMs) => {
        const [namespace, name] = key.split("/");
        log.error("reconcile failed", { kind: "FlinkDeployment", namespace, name, retryInMs, error: errorText(error) });
      },
    },
  );
  // The operator's own status and finalizer writes come back as watch events; only a new generation or a
  // deletion is news. Everything else is picked up by the pass's own requeue.
  const seen = new Map<string, string>();
  return {
    queue,
    changed: (o: KubernetesObject) => {
      const key = keyOf(o);
      const signature = `${o.metadata?.uid}|${o.metadata?.generation}|${o.metadata?.deletionTimestamp ?? ""}`;
      if (seen.get(key) === signature) return;
      seen.set(key, signature);
      queue.add(key);
    },
    deleted: (o: KubernetesObject) => {
      seen.delete(keyOf(o));
      queue.forget(keyOf(o));
    },
  };
}

/** KFC throws plain {status, statusText, data} objects; make them readable in logs. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  const r = e as { status?: number; statusText?: string; data?: { message?: string } };
  return r?.status ? `${r.status} ${r.statusText ?? ""}: ${r.data?.message ?? JSON.stringify(r.data)}` : JSON.stringify(e);
}
