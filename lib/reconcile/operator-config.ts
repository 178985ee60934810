import { K8s, kind } from "kubernetes-fluent-client";
import { parse } from "yaml";
import { flattenFlinkConfiguration } from "../api/flink-config";
import { log } from "../log";
import { configPath } from "../validation/issues";
import { isNotFound } from "./kube";

/**
 * The operator ConfigMap, as the reference operator's Helm chart lays it out: a config.yaml (or flink-conf.yaml)
 * of default Flink and kubernetes.operator.* keys under every resource's own flinkConfiguration.
 */
export const OPERATOR_CONFIGMAP = process.env.FLINK_OPERATOR_CONFIGMAP ?? "flink-operator-config";
export const OPERATOR_NAMESPACE = process.env.FLINK_OPERATOR_NAMESPACE ?? "pepr-system";

export function parseOperatorConfig(
  data: Record<string, string> | undefined,
): Record<string, string> {
  const merged: Record<string, string> = {};
  for (const file of ["flink-conf.yaml", "config.yaml"]) {
    const text = data?.[file];
    if (!text) continue;
    const { config, problems } = flattenFlinkConfiguration(
      (parse(text) as Record<string, unknown>) ?? {},
    );
    for (const p of problems)
      log.warn(`${configPath(p.key, `operator ConfigMap ${file}`)}: ${p.message}`);
    Object.assign(merged, config);
  }
  return merged;
}

/**
 * Reads the operator ConfigMap at most once per ttlMs; a missing ConfigMap means no defaults. A watch on that
 * one ConfigMap (a field selector, so nothing else is streamed) drops the cached copy when it changes, so an
 * edit takes effect at the next pass.
 */
export function operatorConfigLoader(ttlMs = 15_000) {
  let cached: { at: number; value: Record<string, string> } | undefined;
  let watching = false;
  return async () => {
    if (!watching) {
      watching = true;
      const watch = K8s(kind.ConfigMap, {
        namespace: OPERATOR_NAMESPACE,
        name: OPERATOR_CONFIGMAP,
      }).Watch(() => (cached = undefined));
      watch
        .start()
        .catch(e =>
          log.warn(`cannot watch the operator ConfigMap; changes take up to ${ttlMs} ms: ${e}`),
        );
    }
    if (cached && Date.now() - cached.at < ttlMs) return cached.value;
    let value: Record<string, string> = {};
    try {
      const cm = await K8s(kind.ConfigMap).InNamespace(OPERATOR_NAMESPACE).Get(OPERATOR_CONFIGMAP);
      value = parseOperatorConfig(cm.data);
    } catch (e) {
      if (!isNotFound(e)) throw e;
    }
    cached = { at: Date.now(), value };
    return value;
  };
}
