/** What a build needs besides the FlinkDeployment: facts only the reconciler knows. */
export interface BuildOptions {
  /** metadata.generation of the spec being built; stamped on every child. */
  generation: number;
  /**
   * Operator-wide configuration (the operator ConfigMap): Flink keys and kubernetes.operator.* keys, under
   * the resource's own flinkConfiguration.
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
