// How figures, times and states read on the page.
import { h } from './dom.js';

export function fmtDuration(ms) {
  if (ms === undefined || ms === null || !Number.isFinite(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  const s = ms / 1000;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const two = (a, ua, b, ub) => (b ? `${a} ${ua} ${b} ${ub}` : `${a} ${ua}`);
  const m = Math.floor(s / 60);
  if (m < 60) return two(m, 'min', Math.round(s - m * 60), 's');
  const hr = Math.floor(m / 60);
  if (hr < 48 || hr % 24) return two(hr, 'h', m - hr * 60, 'min');
  return two(Math.floor(hr / 24), 'd', hr % 24, 'h');
}

export function fmtAgo(at) {
  if (!at) return '—';
  const d = Date.now() - at;
  if (d < 0) return `in ${fmtDuration(-d)}`;
  if (d < 2000) return 'just now';
  return `${fmtDuration(d)} ago`;
}

export function fmtTime(at) {
  if (!at) return '';
  const d = new Date(at);
  return d.toLocaleTimeString(undefined, { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

export function fmtDateTime(at) {
  return at ? new Date(at).toLocaleString(undefined, { hour12: false }) : '';
}

export function time(at, text) {
  return h('time', { datetime: at ? new Date(at).toISOString() : undefined, title: fmtDateTime(at) }, text ?? fmtAgo(at));
}

export function pct(x, digits = 2) {
  if (x === undefined || x === null || !Number.isFinite(x)) return '—';
  const v = x * 100;
  return `${v === 0 ? '0' : v >= 99.995 && v < 100 ? v.toFixed(3) : v.toFixed(v < 10 ? digits : 1)}%`;
}

export function num(n) {
  return typeof n === 'number' ? n.toLocaleString() : '—';
}

export const who = (actor) => String(actor ?? '').replace(/^user:/, '');

/** a state word as a badge: colour carries meaning, the word carries it too (never colour alone) */
export function badge(word, kind) {
  const label = String(word ?? '').replaceAll('_', ' ');
  return h('span', { class: `badge badge-${kind ?? toneOf(word)}` }, label);
}

export function toneOf(word) {
  switch (word) {
    case 'promoted':
    case 'passed':
    case 'ready':
    case 'pass':
    case 'up':
    case 'resolved':
    case 'compliant':
      return 'ok';
    case 'running':
    case 'starting':
    case 'restarting':
    case 'acknowledged':
    case 'inconclusive':
    case 'pending':
    case 'paused':
    case 'mitigated':
    case 'snoozed':
      return 'warn';
    case 'rolled_back':
    case 'blocked':
    case 'failed':
    case 'fail':
    case 'crashed':
    case 'down':
    case 'open':
    case 'firing':
    case 'triggered':
    case 'aborted':
    case 'error':
    case 'sev1':
    case 'sev2':
      return 'bad';
    case 'sev3':
      return 'warn';
    default:
      return 'neutral';
  }
}

export function overrides(list) {
  return h(
    'div',
    { class: 'breakglass', role: 'note' },
    h('strong', {}, 'Break-glass'),
    list.map((o) => h('p', {}, `gate of ${o.environment} overridden by `, h('strong', {}, who(o.actor)), ` ${fmtAgo(o.at)}: “${o.reason}”`)),
  );
}

/**
 * What a version of a router table is to a person: the stable one; the canary (the release being
 * deployed, or a version that takes traffic beside stable); or one at weight 0 that is not being
 * deployed (the previous stable after a promotion, a canary after its rollback), which is no canary.
 */
export function versionRole(version, stable, weight, deploying) {
  if (version === stable) return 'stable';
  if (version === deploying || weight > 0) return 'canary';
  return 'not serving';
}
