import { API_VERSION } from "./resources";

/**
 * lastReconciledSpec as the reference operator writes it: the spec plus resource metadata, as JSON. Keeping
 * the same shape lets a resource move between the two operators without losing its upgrade history.
 */
export interface ReconciledSpec<S> {
  spec: S;
  generation?: number;
  firstDeployment?: boolean;
}

export function serializeReconciledSpec<S>(r: ReconciledSpec<S>): string {
  return JSON.stringify({
    spec: r.spec,
    resource_metadata: {
      apiVersion: API_VERSION,
      metadata: { generation: r.generation },
      firstDeployment: r.firstDeployment,
    },
  });
}

/** Reads lastReconciledSpec; undefined before the first deployment or if it is not readable. */
export function parseReconciledSpec<S>(json: string | undefined): ReconciledSpec<S> | undefined {
  if (!json) return undefined;
  try {
    const parsed = JSON.parse(json) as {
      spec?: S;
      resource_metadata?: { metadata?: { generation?: number }; firstDeployment?: boolean };
    };
    if (!parsed.spec) return undefined;
    return {
      spec: parsed.spec,
      generation: parsed.resource_metadata?.metadata?.generation,
      firstDeployment: parsed.resource_metadata?.firstDeployment,
    };
  } catch {
    return undefined;
  }
}
