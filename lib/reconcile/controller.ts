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
  return {
    queue,
    changed: (o: KubernetesObject) => queue.add(keyOf(o)),
    deleted: (o: KubernetesObject) => queue.forget(keyOf(o)),
  };
}

/** KFC throws plain {status, statusText, data} objects; make them readable in logs. */
export function errorText(e: unknown): string {
  if (e instanceof Error) return e.message;
  const r = e as { status?: number; statusText?: string; data?: { message?: string } };
  return r?.status ? `${r.status} ${r.statusText ?? ""}: ${r.data?.message ?? JSON.stringify(r.data)}` : JSON.stringify(e);
}
