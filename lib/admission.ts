import { flattenFlinkConfiguration } from "./api/flink-config";
import { TARGET_SESSION_LABEL } from "./api/resources";
import { FlinkDeploymentSpec } from "./api/spec";
import { canonical } from "./reconcile/changes";
import { resolveSettings } from "./settings";
import { validateFlinkDeployment } from "./validation/flinkdeployment";
import { validateFlinkSessionJob } from "./validation/flinksessionjob";
import { Issue, errorsOf, formatIssue, warning, warningsOf } from "./validation/issues";
import { artifactPolicy } from "./validation/uris";

export interface AdmissionVerdict {
  allowed: boolean;
  message: string;
  warnings: string[];
}

export function verdict(kind: string, issues: Issue[]): AdmissionVerdict {
  const errors = errorsOf(issues);
  const message = errors.length
    ? `${kind} has ${errors.length} problem${errors.length > 1 ? "s" : ""}:\n${errors.map(e => `- ${formatIssue(e)}`).join("\n")}`
    : "";
  return { allowed: errors.length === 0, message, warnings: warningsOf(issues).map(formatIssue) };
}

interface WithSpec {
  metadata?: { labels?: Record<string, string> };
  spec?: {
    flinkConfiguration?: Record<string, unknown>;
    job?: { state?: string; upgradeMode?: string };
  };
}

const isRecord = (v: unknown): v is Record<string, unknown> =>
  v !== null && typeof v === "object" && !Array.isArray(v);

/**
 * What the mutating webhook changes: the reference operator's job defaults, and flinkConfiguration in the flat,
 * string-valued form Flink reads (left untouched when it cannot be flattened, for validation to report).
 */
export function applyDefaults<T extends WithSpec>(obj: T): T {
  const spec = obj.spec;
  if (!isRecord(spec)) return obj;
  // The CRD schema is checked after the mutating webhooks: a field of the wrong type is validation's to deny.
  if (isRecord(spec.job)) {
    spec.job.state ??= "running";
    spec.job.upgradeMode ??= "stateless";
  }
  if (isRecord(spec.flinkConfiguration)) {
    const { config, problems } = flattenFlinkConfiguration(spec.flinkConfiguration);
    if (problems.length === 0) spec.flinkConfiguration = config;
  }
  return obj;
}

export function applySessionJobDefaults<
  T extends WithSpec & { spec?: { deploymentName?: string } },
>(obj: T): T {
  applyDefaults(obj);
  const target = isRecord(obj.spec) ? obj.spec.deploymentName : undefined;
  if (typeof target === "string" && target) {
    obj.metadata ??= {};
    obj.metadata.labels = { ...obj.metadata.labels, [TARGET_SESSION_LABEL]: target };
  }
  return obj;
}

/** What admission knows besides the object: the operator ConfigMap as last read, the object before an update. */
export interface AdmissionContext {
  /** The operator ConfigMap, flattened and unlayered; {} when there is none. */
  operatorConfig: Record<string, string>;
  /** Set when the ConfigMap has not been read yet: the verdict only knows the built-in defaults. */
  stale?: string;
  /** On an update, the object as stored before it; null on a create. */
  old?: unknown;
  /** Whether the account `serviceAccountToCheck` named exists; undefined when it was not looked up. */
  serviceAccountExists?: boolean;
}

const NO_OPERATOR_CONFIG: AdmissionContext = { operatorConfig: {} };

/** namespace and flinkVersion of an object not yet parsed, when they are strings. */
function whereAndWhich(obj: unknown): { namespace?: string; flinkVersion?: string } {
  const o = obj as { metadata?: { namespace?: unknown }; spec?: { flinkVersion?: unknown } };
  const str = (v: unknown) => (typeof v === "string" ? v : undefined);
  return { namespace: str(o?.metadata?.namespace), flinkVersion: str(o?.spec?.flinkVersion) };
}

const specOf = (obj: unknown) => (obj as { spec?: unknown } | undefined)?.spec;

/**
 * An update that leaves the spec as it was (the finalizer's removal, labels, annotations) is admitted: the
 * spec was judged when it was written, and a later change of the operator ConfigMap or of the rules must not
 * leave a resource that can no longer be deleted.
 */
const specUnchanged = (obj: unknown, ctx: AdmissionContext) =>
  ctx.old != null && canonical(specOf(ctx.old)) === canonical(specOf(obj));

const ADMITTED: AdmissionVerdict = { allowed: true, message: "", warnings: [] };

const staleWarning = (ctx: AdmissionContext): string[] =>
  ctx.stale ? [`checked against the built-in defaults only: ${ctx.stale}`] : [];

/**
 * The service account a FlinkDeployment's pods would run as, for the wiring to look up: none when the spec
 * is unchanged (nothing is judged then) or names none.
 */
export function serviceAccountToCheck(
  obj: unknown,
  ctx: Pick<AdmissionContext, "old">,
): { namespace: string; name: string } | undefined {
  if (specUnchanged(obj, { operatorConfig: {}, ...ctx })) return undefined;
  const { namespace } = whereAndWhich(obj);
  const name = (specOf(obj) as { serviceAccount?: unknown } | undefined)?.serviceAccount;
  return namespace && typeof name === "string" && name ? { namespace, name } : undefined;
}

/** A warning, not a denial: the account may well be created right after the FlinkDeployment. */
function missingServiceAccount(obj: unknown, ctx: AdmissionContext): string[] {
  const sa = ctx.serviceAccountExists === false && serviceAccountToCheck(obj, ctx);
  if (!sa) return [];
  return [
    formatIssue(
      warning(
        "spec.serviceAccount",
        `service account "${sa.name}" does not exist in namespace "${sa.namespace}": the cluster's pods cannot be created until it does`,
      ),
    ),
  ];
}

export function admitFlinkDeployment(
  obj: unknown,
  ctx: AdmissionContext = NO_OPERATOR_CONFIG,
): AdmissionVerdict {
  if (specUnchanged(obj, ctx)) return ADMITTED;
  const { defaults } = resolveSettings({
    operatorConfig: ctx.operatorConfig,
    ...whereAndWhich(obj),
  });
  // The apiserver puts the stored status back (and drops one sent with a create) only after the mutating
  // webhooks ran: the rules that judge a change against the deployed spec read the stored status.
  const stored = (ctx.old as { status?: unknown } | null | undefined)?.status;
  const judged = ctx.old === undefined ? obj : { ...(obj as object), status: stored };
  const v = verdict("FlinkDeployment", validateFlinkDeployment(judged, { defaults }));
  return {
    ...v,
    warnings: [...v.warnings, ...missingServiceAccount(obj, ctx), ...staleWarning(ctx)],
  };
}

export function admitFlinkSessionJob(
  obj: unknown,
  session: { spec?: FlinkDeploymentSpec } | undefined,
  ctx: AdmissionContext = NO_OPERATOR_CONFIG,
): AdmissionVerdict {
  if (specUnchanged(obj, ctx)) return ADMITTED;
  // The session cluster's Flink version picks the defaults' version sections. The artifact policy comes
  // from the operator's configuration only: a resource must not widen it for itself.
  const { defaults, operator } = resolveSettings({
    operatorConfig: ctx.operatorConfig,
    namespace: whereAndWhich(obj).namespace,
    flinkVersion: session?.spec?.flinkVersion,
  });
  const v = verdict(
    "FlinkSessionJob",
    validateFlinkSessionJob(obj, {
      session,
      defaults,
      artifacts: artifactPolicy(operator),
    }),
  );
  return { ...v, warnings: [...v.warnings, ...staleWarning(ctx)] };
}

/** What Pepr's afterHook is given: the answer to one admission request, before it is sent. */
export interface AdmissionAnswer {
  uid: string;
  allowed: boolean;
  result?: string;
  status?: { code: number; message: string };
  warnings?: string[];
  patch?: string;
  patchType?: string;
}

/**
 * Denials from the mutating webhook. The apiserver calls the mutating webhooks before it checks the CRD schema
 * and its CEL rules, and the validating webhooks after: a denial by the validating webhook alone shows its
 * errors only once the CEL errors are fixed. So the mutating webhook denies with every problem, the rules that
 * are also CEL included (the same functions compute them); CEL still holds while the webhook is down.
 *
 * Pepr 1.1.4's Mutate cannot deny: a callback that throws gets a generic answer, its message demoted to a
 * warning. `deny` records the verdict under the request's uid and throws; `afterHook` (PeprModule's option)
 * then turns that answer into a denial with the verdict's message and warnings.
 */
export function mutationDenials() {
  const pending = new Map<string, AdmissionVerdict>();
  return {
    deny(uid: string, v: AdmissionVerdict): never {
      pending.set(uid, v);
      throw new Error(v.message);
    },
    afterHook(answer: AdmissionAnswer): void {
      const v = pending.get(answer.uid);
      if (!v) return;
      pending.delete(answer.uid);
      answer.allowed = false;
      answer.status = { code: 422, message: v.message };
      answer.warnings = v.warnings.length ? v.warnings : undefined;
      delete answer.result;
      delete answer.patch;
      delete answer.patchType;
    },
  };
}
