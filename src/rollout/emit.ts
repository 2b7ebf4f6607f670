// How the steps of a deployment write their events: the deployment's id, service and version are
// filled in once, each step adds the fields of its type (checked by the compiler against the
// event catalogue, and again at the store's door).
import type { DataBesides, TypesWith } from '../events/catalogue/index.ts';

export interface DeploymentRef {
  deploymentId: string;
  service: string;
  version: string;
}

/** The event types about one deployment: those whose data starts with a DeploymentRef. */
export type DeploymentEventType = TypesWith<DeploymentRef>;

export type Emit = <T extends DeploymentEventType>(type: T, data: DataBesides<T, DeploymentRef>, actor?: string) => Promise<unknown>;
