import type { Placement, StateView } from '../state/projection.ts';

export function placementOf(state: StateView, environment: string, service: string): Placement | undefined {
  return state.stable.get(`${environment}/${service}`);
}
