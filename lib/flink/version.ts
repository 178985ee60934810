/** A Flink release as the REST API reports it ("1.20.5", "2.3.0", "2.0-preview1"). */
export interface FlinkVersion {
  raw: string;
  major: number;
  minor: number;
  patch: number;
}

export function parseFlinkVersion(raw: string): FlinkVersion {
  const m = /^v?(\d+)[._](\d+)(?:[._](\d+))?/.exec(raw.trim());
  if (!m) throw new Error(`not a Flink version: "${raw}"`);
  return { raw, major: Number(m[1]), minor: Number(m[2]), patch: Number(m[3] ?? 0) };
}

export function atLeast(v: FlinkVersion, major: number, minor = 0): boolean {
  return v.major > major || (v.major === major && v.minor >= minor);
}

/**
 * What differs between the Flink lines this client talks to. Kept in one place so a new release
 * means one edit here.
 */
export function flinkFeatures(v: FlinkVersion) {
  return {
    /** /jars/:id/run takes `claimMode` from 1.20 on; older releases only know `restoreMode`. */
    runRestoreField: atLeast(v, 1, 20) ? ("claimMode" as const) : ("restoreMode" as const),
    /** 2.0 removed the LEGACY restore/claim mode. */
    legacyClaimMode: !atLeast(v, 2),
    /** 2.0 removed the space-separated `programArgs` string from the run body; programArgsList works everywhere. */
    programArgsString: !atLeast(v, 2),
    /** 1.x answers /exceptions with root-exception and all-exceptions beside exceptionHistory; 2.x only the history. */
    legacyExceptionFields: !atLeast(v, 2),
    /** `flinkConfiguration` in the run body (job-level configuration) exists from 1.17. */
    runFlinkConfiguration: atLeast(v, 1, 17),
    /** POST /jobs/:id/checkpoints (manual checkpoints) exists from 1.17. */
    manualCheckpoints: atLeast(v, 1, 17),
    /** GET/PUT /jobs/:id/resource-requirements exists from 1.18 (adaptive scheduler only). */
    resourceRequirements: atLeast(v, 1, 18),
  };
}

export type FlinkFeatures = ReturnType<typeof flinkFeatures>;
