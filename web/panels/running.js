// Panel: the running deployment (stages, canary step and weight, latest verdict, and the pause /
// resume / promote / abort actions).
import { AuthError, api } from '../api.js';
import { $, confirmDialog, empty, h, render } from '../dom.js';
import { badge, fmtDuration, overrides, time, who } from '../format.js';
import { toast } from '../notify.js';
import { scheduleRefresh } from '../refresh.js';
import { state } from '../state.js';

export function runningDeployments() {
  return state.deployments.filter((d) => d.state === 'running');
}

/** What the events of one deployment say about each environment: step, weight, verdict, pause. */
function rolloutFacts(events) {
  const facts = new Map();
  const of = (env) => {
    if (!facts.has(env)) facts.set(env, {});
    return facts.get(env);
  };
  // events are newest first: the first one seen of each kind is the latest
  for (const e of events) {
    const d = e.data ?? {};
    const env = d.environment;
    if (e.type === 'rollout.step.started' && env && !of(env).step) of(env).step = { step: d.step, weight: d.weight, holdMs: d.holdMs, at: e.time };
    if (e.type === 'analysis.verdict' && env && !of(env).verdict) of(env).verdict = { verdict: d.verdict, summary: d.summary, at: e.time, step: d.step, weight: d.weight };
    if (e.type === 'rollout.weight.zero' && env && !of(env).zero) of(env).zero = { reason: d.reason, at: e.time };
    // a step short of canary traffic says what it waits for (its step's notice only)
    if (e.type === 'rollout.waiting' && env && !of(env).waiting) of(env).waiting = { message: d.message, step: d.step, at: e.time };
    if ((e.type === 'rollout.paused' || e.type === 'rollout.resumed') && !of('*').pause) of('*').pause = { paused: e.type === 'rollout.paused', actor: e.actor, reason: d.reason, at: e.time };
  }
  return facts;
}

export function renderRunning() {
  const running = runningDeployments();
  if (!running.length) {
    const last = state.deployments[0];
    return render(
      $('running'),
      empty('No deployment is running.'),
      last ? h('div', { class: 'last-deploy' }, h('span', { class: 'label' }, 'Last: '), deploymentSummary(last), lastVerdict(last)) : null,
    );
  }
  render($('running'), running.map(runningCard));
}

function deploymentSummary(d) {
  return h('span', {}, h('strong', {}, `${d.service}@${d.version}`), ' ', badge(d.state), ' ', h('span', { class: 'muted small' }, d.id, ' · ', time(d.endedAt ?? d.requestedAt)));
}

function lastVerdict(d) {
  const facts = rolloutFacts(state.deploymentEvents.get(d.id) ?? []);
  const items = [];
  for (const [env, f] of facts) if (env !== '*' && f.verdict) items.push(h('p', { class: 'verdict' }, h('span', { class: 'label' }, `${env} analysis `), badge(f.verdict.verdict), ' ', f.verdict.summary));
  if (d.reason && ![...facts.values()].some((f) => f.verdict && d.reason.includes(f.verdict.summary))) items.push(h('p', { class: 'reason' }, d.reason));
  return items;
}

function runningCard(d) {
  const facts = rolloutFacts(state.deploymentEvents.get(d.id) ?? []);
  const pause = facts.get('*')?.pause;
  const paused = !!pause?.paused;
  const current = d.environments.find((e) => e.state === 'running');
  const f = current ? facts.get(current.name) ?? {} : {};
  const weight = f.zero && (!f.step || f.zero.at >= f.step.at) ? 0 : f.step?.weight;
  const canaryStage = current?.stage === 'canary' || f.step;

  return h(
    'article',
    { class: 'run-card', 'aria-label': `Deployment ${d.id}`, dataset: { deployment: d.id } },
    h(
      'div',
      { class: 'run-head' },
      h('h3', {}, `${d.service}@${d.version}`),
      badge(paused ? 'paused' : d.state),
      h('span', { class: 'muted small mono' }, d.id),
      h('span', { class: 'muted small' }, 'by ', who(d.requestedBy), ', ', time(d.requestedAt)),
    ),
    d.overrides?.length ? overrides(d.overrides) : null,
    h(
      'ol',
      { class: 'stages', 'aria-label': 'Environments of this deployment' },
      d.environments.map((e) =>
        h(
          'li',
          { class: `stage stage-${e.state}`, 'aria-current': e.state === 'running' ? 'step' : undefined },
          h('span', { class: 'stage-name' }, e.name),
          badge(e.state),
          e.state === 'running' && e.stage ? h('span', { class: 'stage-detail' }, e.stage) : null,
          e.reason ? h('span', { class: 'stage-detail' }, e.reason) : null,
        ),
      ),
    ),
    canaryStage && current
      ? h(
          'div',
          { class: 'canary' },
          h('div', { class: 'canary-line' }, h('span', { class: 'label' }, `canary in ${current.name}: `), f.step ? `step ${f.step.step + 1}` : 'starting', ' · weight ', h('strong', { dataset: { role: 'canary-weight' } }, `${weight ?? 0}%`), f.step?.holdMs ? ` · hold ${fmtDuration(f.step.holdMs)}` : '', paused ? ` · paused by ${who(pause.actor)}` : ''),
          h('div', { class: 'meter', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(weight ?? 0), 'aria-label': 'Canary weight' }, h('div', { class: 'meter-fill', style: { width: `${weight ?? 0}%` } })),
        )
      : null,
    paused && pause.reason && !/^paused by /.test(pause.reason) ? h('p', { class: 'warnline' }, `Paused: ${pause.reason}`) : null,
    !paused && f.waiting && f.step && f.waiting.step === f.step.step ? h('p', { class: 'warnline', dataset: { role: 'waiting' } }, `Waiting for canary traffic: ${f.waiting.message}`) : null,
    f.verdict ? h('p', { class: 'verdict' }, h('span', { class: 'label' }, 'latest analysis '), badge(f.verdict.verdict), ' ', f.verdict.summary, ' ', h('span', { class: 'muted small' }, time(f.verdict.at))) : null,
    h(
      'div',
      { class: 'actions', role: 'group', 'aria-label': `Control the deployment of ${d.service}` },
      h('button', { type: 'button', class: 'btn', disabled: paused, dataset: { key: `pause-${d.id}` }, onclick: () => serviceAction(d, 'pause') }, 'Pause'),
      h('button', { type: 'button', class: 'btn', disabled: !paused, dataset: { key: `resume-${d.id}` }, onclick: () => serviceAction(d, 'resume') }, 'Resume'),
      h('button', { type: 'button', class: 'btn', dataset: { key: `promote-${d.id}` }, onclick: () => serviceAction(d, 'promote') }, 'Promote next step'),
      h('button', { type: 'button', class: 'btn', dataset: { key: `promote-full-${d.id}` }, onclick: () => serviceAction(d, 'promote-full') }, 'Promote to 100%'),
      h('button', { type: 'button', class: 'btn btn-danger', dataset: { key: `abort-${d.id}` }, onclick: () => serviceAction(d, 'abort') }, 'Abort'),
    ),
  );
}

const ACTIONS = {
  pause: { path: 'pause', verb: 'Pause', text: (d) => `Hold the rollout of ${d.service}@${d.version} at its current step? The analysis keeps guarding it.` },
  resume: { path: 'resume', verb: 'Resume', text: (d) => `Resume the rollout of ${d.service}@${d.version}?` },
  promote: { path: 'promote', verb: 'Promote', text: (d) => `Skip the rest of the current hold and move ${d.service}@${d.version} to the next canary step?` },
  'promote-full': { path: 'promote', body: { full: true }, verb: 'Promote to 100%', text: (d) => `Send all traffic to ${d.service}@${d.version} now, skipping the remaining canary steps?` },
  abort: { path: 'abort', verb: 'Abort', danger: true, text: (d) => `Abort the deployment ${d.id} of ${d.service}@${d.version}? Traffic returns to the stable version.` },
};

async function serviceAction(d, name) {
  const a = ACTIONS[name];
  if (!(await confirmDialog(`${a.verb} ${d.service}@${d.version}`, a.text(d), a.verb))) return;
  try {
    await api(`/v1/services/${encodeURIComponent(d.service)}/${a.path}`, { method: 'POST', body: a.body ?? {} });
    toast(`${a.verb}: sent for ${d.service}@${d.version}`, 'ok');
    scheduleRefresh('deployments', 'status');
  } catch (err) {
    if (!(err instanceof AuthError)) toast(`${a.verb} failed: ${err.message}`);
  }
}
