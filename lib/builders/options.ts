/** What a build needs besides the FlinkDeployment: facts only the reconciler knows. */
export interface BuildOptions {
  /** metadata.generation of the spec being built; stamped on every child. */
  generation: number;
  /**
   * The operator ConfigMap, flattened: Flink keys and kubernetes.operator.* keys, with its namespace and
   * Flink-version sections. The build layers it (with the built-in defaults) under the resource's own
   * flinkConfiguration, as lib/settings.ts resolveSettings does.
   */
  defaultConfiguration?: Record<string, string>;
  /** Application clusters: the job id of this deploy, 32 hex digits; the same id again for a last-state upgrade. */
  jobId?: string;
  /** Application clusters: the savepoint or checkpoint the job starts from. */
  restorePath?: string;
  /**
   * Application clusters with HA storage: an id unique to this deploy (the reconciliation timestamp, say),
   * kept by the caller so rebuilding the same deploy gives the same manifests. It names the deploy's job
   * result store directory: a redeploy with the same job id must not find the previous run's result there.
   */
  deployId?: string;
}
