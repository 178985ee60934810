import { K8s, kind } from "kubernetes-fluent-client";
import { parse } from "yaml";
import { flattenFlinkConfiguration } from "../api/flink-config";
import { log } from "../log";
import { configPath } from "../validation/issues";
import { DEFAULT_CONFIGURATION_PREFIX, optionFindings } from "../settings";
import { isNotFound } from "./kube";

/**
 * The operator ConfigMap, as the reference operator's Helm chart lays it out: a config.yaml (or flink-conf.yaml)
 * of default Flink and kubernetes.operator.* keys under every resource's own flinkConfiguration.
 */
export const OPERATOR_CONFIGMAP = process.env.FLINK_OPERATOR_CONFIGMAP ?? "flink-operator-config";
export const OPERATOR_NAMESPACE = process.env.FLINK_OPERATOR_NAMESPACE ?? "pepr-system";

type Config = Record<string, string>;

export function parseOperatorConfig(data: Record<string, string> | undefined): Config {
  const merged: Config = {};
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

/** A key of a default-configuration section (namespace.<ns>. or flink-version.<v>.) without its prefix. */
const SECTION = /^(?:namespace\.[^.]+|flink-version\.v\d+_\d+\+?)\.(.+)$/;

/**
 * What is wrong with the operator ConfigMap's kubernetes.operator.* keys, in its plain keys and in its
 * sections, as log lines: a value that does not fit is ignored (the default stays), and an option this
 * operator does not implement yet is named.
 */
export function operatorConfigProblems(config: Config): string[] {
  const lines: string[] = [];
  const sections: Record<string, Config> = { "": {} };
  for (const [key, value] of Object.entries(config)) {
    const inner = key.startsWith(DEFAULT_CONFIGURATION_PREFIX)
      ? SECTION.exec(key.slice(DEFAULT_CONFIGURATION_PREFIX.length))
      : null;
    const where = inner ? key.slice(0, key.length - inner[1].length) : "";
    (sections[where] ??= {})[inner ? inner[1] : key] = value;
  }
  for (const [where, keys] of Object.entries(sections)) {
    for (const f of optionFindings(keys, where === "" ? "operator" : "resource")) {
      const ignored = f.severity === "error" ? "; the value is ignored" : "";
      lines.push(`${configPath(where + f.key, "operator ConfigMap")}: ${f.message}${ignored}`);
    }
  }
  return lines;
}

/**
 * How long admission waits for a read of the operator ConfigMap before it answers with the copy it has:
 * well under the webhook's timeout (package.json pepr.webhookTimeout, 10 s).
 */
export const ADMISSION_CONFIG_WAIT_MS = 2_000;
/** How long a failed read of the operator ConfigMap is not tried again. */
const FAILED_READ_PAUSE_MS = 5_000;

export interface OperatorConfigSource {
  /**
   * For a reconcile pass: the ConfigMap, read again once the copy is older than the TTL or changed. A read
   * that fails gives the last value read; with none yet, it throws (the pass is retried).
   */
  get(): Promise<Config>;
  /**
   * For admission: the same, but never waits longer than waitMs; then it gives the last value read, or,
   * before the first read, no operator defaults, with `stale` saying so.
   */
  within(waitMs: number): Promise<{ operatorConfig: Config; stale?: string }>;
  /** Forgets the copy: the next get() reads again. */
  invalidate(): void;
}

export interface OperatorConfigSourceOptions {
  ttlMs?: number;
  /** Reads the ConfigMap; a missing one is no defaults. */
  read?: () => Promise<Config>;
  /** Calls back whenever the ConfigMap changes; started on the first get(). */
  watch?: (changed: () => void) => void;
  now?: () => number;
}

async function readOperatorConfigMap(): Promise<Config> {
  try {
    const cm = await K8s(kind.ConfigMap).InNamespace(OPERATOR_NAMESPACE).Get(OPERATOR_CONFIGMAP);
    return parseOperatorConfig(cm.data);
  } catch (e) {
    if (isNotFound(e)) return {};
    throw e;
  }
}

/** One ConfigMap watched by a field selector, so nothing else is streamed. */
function watchOperatorConfigMap(changed: () => void, ttlMs: number): void {
  K8s(kind.ConfigMap, { namespace: OPERATOR_NAMESPACE, name: OPERATOR_CONFIGMAP })
    .Watch(changed)
    .start()
    .catch(e =>
      log.warn(`cannot watch the operator ConfigMap; changes take up to ${ttlMs} ms: ${e}`),
    );
}

/**
 * The operator ConfigMap as one cached copy shared by admission and the reconciler of a process: read at
 * most once per ttlMs and again as soon as its watch reports a change, one read at a time.
 */
export function operatorConfigSource(opts: OperatorConfigSourceOptions = {}): OperatorConfigSource {
  const ttlMs = opts.ttlMs ?? 15_000;
  const read = opts.read ?? readOperatorConfigMap;
  const watch = opts.watch ?? (changed => watchOperatorConfigMap(changed, ttlMs));
  const now = opts.now ?? Date.now;
  let last: { at: number; value: Config; text: string } | undefined;
  let failed: { at: number; error: unknown } | undefined;
  let fresh = false;
  let inFlight: Promise<Config> | undefined;
  let watching = false;

  const refresh = (): Promise<Config> =>
    (inFlight ??= read()
      .then(value => {
        const text = JSON.stringify(value);
        if (text !== last?.text) for (const line of operatorConfigProblems(value)) log.warn(line);
        last = { at: now(), value, text };
        fresh = true;
        failed = undefined;
        return value;
      })
      .catch(error => {
        failed = { at: now(), error };
        throw error;
      })
      .finally(() => (inFlight = undefined)));

  const get = async (): Promise<Config> => {
    if (!watching) {
      watching = true;
      watch(() => (fresh = false));
    }
    if (last && fresh && now() - last.at < ttlMs) return last.value;
    // After a failed read, wait a little before the next one rather than try at every request.
    const pausing = failed && now() - failed.at < Math.min(ttlMs, FAILED_READ_PAUSE_MS);
    try {
      if (pausing) throw failed!.error;
      return await refresh();
    } catch (e) {
      if (!last) throw e;
      if (!pausing)
        log.warn(`cannot read the operator ConfigMap, using the copy read before: ${e}`);
      return last.value;
    }
  };

  return {
    get,
    invalidate: () => (fresh = false),
    async within(waitMs) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<undefined>(resolve => {
        timer = setTimeout(() => resolve(undefined), waitMs);
      });
      try {
        const config = await Promise.race([get(), timeout]);
        if (config) return { operatorConfig: config };
      } catch (e) {
        if (!last)
          return { operatorConfig: {}, stale: `the operator ConfigMap could not be read (${e})` };
      } finally {
        clearTimeout(timer);
      }
      return last
        ? { operatorConfig: last.value }
        : { operatorConfig: {}, stale: `the operator ConfigMap was not read within ${waitMs} ms` };
    },
  };
}
