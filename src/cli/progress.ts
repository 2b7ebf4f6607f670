// Turns a deployment's events into the live progress lines `greenlight deploy` prints.
import type { StoredEvent } from '../events/log.ts';
import { color } from './output.ts';

export function describeEvent(e: StoredEvent): string | undefined {
  const d = e.data as Record<string, any>;
  const env = d.environment ? `${String(d.environment).padEnd(11)} ` : '';
  switch (e.type) {
    case 'deployment.requested':
      return `${color.bold(`deploy ${d.service}@${d.version}`)} ${color.dim(`(${d.deploymentId}, ${String(d.digest).slice(0, 19)}…)`)}${d.force ? color.yellow(` break-glass: ${d.reason}`) : ''}`;
    case 'deployment.gate.passed':
      return `  ${env}gate passed: ${d.because}`;
    case 'deployment.gate.overridden':
      return `  ${env}${color.yellow(`gate OVERRIDDEN by ${e.actor}: ${d.missing}; reason: "${d.reason}"`)}`;
    case 'deployment.gate.refused':
      return `  ${env}${color.red('gate refused')}`;
    case 'deployment.stage':
      if (d.stage === 'instances') return `  ${env}instances ${d.ready}/${d.of} ready`;
      if (d.stage === 'switch') return `  ${env}switching traffic ${d.from ?? '(none)'} -> ${d.to}`;
      if (d.stage === 'switch-back') return `  ${env}${color.yellow(`switching back to ${d.to}: ${d.reason}`)}`;
      if (d.stage === 'already-stable') return `  ${env}${d.message}`;
      if (String(d.stage).startsWith('checks:')) return (d.checks as string[]).length ? `  ${env}${d.stage.slice(7)} checks: ${(d.checks as string[]).join(', ')}` : undefined;
      return `  ${env}${d.stage}`;
    case 'approval.requested':
      return `  ${env}${color.yellow(`waiting for ${d.required} approval(s) from someone other than ${d.requester}${d.breakGlass ? ' (break-glass review)' : ''}: greenlight approve ${d.deploymentId}`)}`;
    case 'approval.granted':
      return `  ${env}approved by ${e.actor} (${d.count} of ${d.required})`;
    case 'approval.refused':
      return `  ${env}${color.yellow(`approval by ${e.actor} refused: ${d.reason}`)}`;
    case 'approval.rejected':
      return `  ${env}${color.red(`rejected by ${e.actor}: ${d.reason}`)}`;
    case 'approval.expired':
      return `  ${env}${color.red('approval request expired')}`;
    case 'rollout.step.started':
      return `  ${env}canary at ${d.weight}% for ${Math.round(Number(d.holdMs) / 100) / 10} s`;
    case 'analysis.verdict':
      return `  ${env}${d.verdict === 'fail' ? color.red('analysis FAIL') : d.verdict === 'pass' ? color.green('analysis pass') : color.dim(`analysis ${d.verdict}`)}: ${String(d.summary).replace(/^\w+: /, '')}`;
    case 'analysis.metric.verdict':
      // the router's own two are in analysis.verdict already; extra metrics get their own line
      if (d.metric === 'error_rate' || d.metric === 'latency') return undefined;
      return `  ${env}${d.verdict === 'fail' ? color.red(`metric ${d.metric} FAIL`) : d.verdict === 'error' ? color.yellow(`metric ${d.metric} error`) : color.dim(`metric ${d.metric} ${d.verdict}`)} (${d.source}): ${String(d.summary)}`;
    case 'rollout.weight.zero':
      return `  ${env}${color.yellow(`canary weight 0: traffic is back on stable (${d.reason})`)}`;
    case 'rollout.paused':
      return `  ${env}${color.yellow(`paused: ${d.reason ?? `by ${e.actor}`}`)}`;
    case 'rollout.waiting':
      return `  ${env}${color.yellow(`waiting for canary traffic: ${d.message}`)}\n  ${env}  pauses in ${Math.round(Number(d.pausesInMs) / 1000)} s unless it arrives; meanwhile: ${((d.starvation?.actions ?? []) as string[]).join(' | ')}`;
    case 'rollout.resumed':
      return `  ${env}resumed by ${e.actor}`;
    case 'rollout.abort.requested':
      return `  ${color.yellow(`abort requested by ${e.actor}`)}`;
    case 'rollout.promote.requested':
      return `  ${env}promote (${d.promote}) requested by ${e.actor}`;
    case 'rollout.promoted':
      return `  ${env}${color.green('canary promoted to 100%')}`;
    case 'check.passed':
      return `  ${env}${color.green('✓')} ${d.name} ${color.dim(`${d.message} (${Math.round(d.durationMs)} ms)`)}`;
    case 'check.failed':
      return `  ${env}${color.red('✗')} ${d.name}: ${d.message}`;
    case 'check.errored':
      return `  ${env}${color.red('?')} ${d.name} could not verify: ${d.message}`;
    case 'deployment.environment.passed':
      return `  ${env}${color.green(d.unchanged ? 'unchanged' : 'passed')}`;
    case 'deployment.environment.blocked':
    case 'deployment.environment.rolled_back':
    case 'deployment.environment.failed':
      return `  ${env}${color.red(e.type.slice('deployment.environment.'.length).replace('_', ' '))}`;
    case 'deployment.promoted':
      return color.green(`✓ ${d.service}@${d.version} promoted through every environment`);
    case 'deployment.blocked':
    case 'deployment.rolled_back':
    case 'deployment.failed':
    case 'deployment.aborted':
      return color.red(`✗ ${e.type.slice('deployment.'.length).replace('_', ' ')}: ${d.reason ?? ''}`);
    default:
      return undefined;
  }
}

export const FINAL_DEPLOYMENT_EVENTS = new Set(['deployment.promoted', 'deployment.blocked', 'deployment.rolled_back', 'deployment.failed', 'deployment.aborted']);
