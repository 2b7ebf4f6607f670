// The pictures of a rollout, as data: canary against control over time (analysis.samples), the
// steps and the verdicts marked on the same time axis, from the deployment's own events.
import type { StoredEvent } from '../events/log.ts';
import type { SeriesPoint } from '../rollout/series.ts';

export interface RolloutSeries {
  points: (SeriesPoint & { environment: string })[];
  steps: { t: number; environment: string; step: number; weight: number }[];
  marks: { t: number; environment: string; kind: 'fail' | 'weight0' | 'paused' | 'promoted' | 'end'; text: string }[];
}

export function seriesOf(events: readonly StoredEvent[]): RolloutSeries {
  const out: RolloutSeries = { points: [], steps: [], marks: [] };
  for (const e of events) {
    const d = e.data as Record<string, any>;
    const environment = String(d.environment ?? '');
    switch (e.type) {
      case 'analysis.samples':
        for (const p of (d.points ?? []) as SeriesPoint[]) out.points.push({ ...p, environment });
        break;
      case 'rollout.step.started':
        out.steps.push({ t: e.time, environment, step: Number(d.step), weight: Number(d.weight) });
        break;
      case 'analysis.verdict':
        if (d.verdict === 'fail') out.marks.push({ t: e.time, environment, kind: 'fail', text: String(d.summary ?? 'fail') });
        break;
      case 'rollout.weight.zero':
        out.marks.push({ t: e.time, environment, kind: 'weight0', text: 'canary weight 0' });
        break;
      case 'rollout.paused':
        out.marks.push({ t: e.time, environment, kind: 'paused', text: String(d.reason ?? 'paused') });
        break;
      case 'rollout.promoted':
        out.marks.push({ t: e.time, environment, kind: 'promoted', text: 'promoted' });
        break;
      case 'deployment.promoted':
      case 'deployment.rolled_back':
      case 'deployment.blocked':
      case 'deployment.failed':
      case 'deployment.aborted':
        out.marks.push({ t: e.time, environment, kind: 'end', text: e.type.slice('deployment.'.length).replace('_', ' ') });
        break;
    }
  }
  return out;
}
