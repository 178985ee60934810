import type { KubernetesObject } from "@kubernetes/client-node";

/**
 * Ownership of children. The operator applies children with forced server-side apply, which would take over any
 * object of the same name; so an object is the operator's to patch or delete only when the FlinkDeployment
 * controls it (an owner reference with controller=true and its uid). Anything else with a child's name is
 * refused, never adopted: as controller-runtime does for objects owned by someone else, and here for ownerless
 * ones too, since a user's Deployment named like a FlinkDeployment is not the operator's to delete.
 */

export const controlledBy = (o: KubernetesObject, uid: string) =>
  !!o.metadata?.ownerReferences?.some(r => r.controller === true && r.uid === uid);

/** An object that has a child's name but is not the FlinkDeployment's. */
export interface ChildConflict {
  kind: string;
  name: string;
  /** Who controls it: "FlinkDeployment/other", or "nobody". */
  owner: string;
}

const id = (o: KubernetesObject) => `${o.kind}/${o.metadata?.name}`;

function ownerOf(o: KubernetesObject): string {
  const controller = o.metadata?.ownerReferences?.find(r => r.controller === true);
  return controller ? `${controller.kind}/${controller.name}` : "nobody";
}

/**
 * The desired children that would land on an object the FlinkDeployment does not control. `found` are the
 * objects that exist under the desired kinds and names (of any owner).
 */
export function childConflicts(
  desired: KubernetesObject[],
  found: KubernetesObject[],
  uid: string,
): ChildConflict[] {
  const wanted = new Set(desired.map(id));
  return found
    .filter(o => wanted.has(id(o)) && !controlledBy(o, uid))
    .map(o => ({ kind: o.kind!, name: o.metadata!.name!, owner: ownerOf(o) }));
}

/** One line for status.error and the Event: what is in the way, whose it is, and the way out. */
export function conflictMessage(conflicts: ChildConflict[]): string {
  const list = conflicts.map(c => `${c.kind}/${c.name} (controlled by ${c.owner})`).join(", ");
  return `not deployed: the names of its children are taken by objects this FlinkDeployment does not control: ${list}; the operator does not adopt, change or delete them: remove or rename them, or rename the FlinkDeployment`;
}
