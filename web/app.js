// Greenlight dashboard: a projection of the controller's v1 API in one page. No framework, no build,
// no external request. The event stream (SSE over fetch, so the token travels in a header and
// never in a URL) tells which panels to reload; a slow poll only refreshes router counters, which
// change without events.

import { createChartsPanel } from './charts.js';
import { createDrillsPanel } from './drills.js';
import { createApprovalsPanel } from './approvals.js';

const STATUS_POLL_MS = 10_000;
const MIN_REFRESH_GAP_MS = 1_000;
const FEED_MAX = 200;
const TOKEN_KEY = 'greenlight.token';

const $ = (id) => document.getElementById(id);

const state = {
  token: '',
  status: null,
  deployments: [],
  incidents: [],
  /** incident id -> report (timeline, impact, durations ...) */
  incidentDetails: new Map(),
  /** incident id -> markdown, for the postmortems shown, and its download address */
  postmortems: new Map(),
  postmortemUrls: new Map(),
  /** incident ids whose details are open; the first active incident opens by itself once */
  expanded: new Set(),
  autoExpanded: new Set(),
  /** deployment id -> its events (newest first), for the running deployment panel */
  deploymentEvents: new Map(),
  feed: [],
  lastSeq: 0,
  showNoisy: false,
  streamAbort: null,
  connected: false,
};

// ---------------------------------------------------------------- small DOM helpers

function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'style') Object.assign(el.style, v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

/** Replaces a panel's content, keeping keyboard focus on the element with the same data-key. */
function render(container, ...nodes) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.key : undefined;
  container.replaceChildren(...nodes.flat(Infinity).filter(Boolean));
  container.removeAttribute('aria-busy');
  if (key) container.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

function empty(text) {
  return h('p', { class: 'empty' }, text);
}

// ---------------------------------------------------------------- formatting

function fmtDuration(ms) {
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

function fmtAgo(at) {
  if (!at) return '—';
  const d = Date.now() - at;
  if (d < 0) return `in ${fmtDuration(-d)}`;
  if (d < 2000) return 'just now';
  return `${fmtDuration(d)} ago`;
}

function fmtTime(at) {
  if (!at) return '';
  const d = new Date(at);
  return d.toLocaleTimeString(undefined, { hour12: false }) + '.' + String(d.getMilliseconds()).padStart(3, '0');
}

function fmtDateTime(at) {
  return at ? new Date(at).toLocaleString(undefined, { hour12: false }) : '';
}

function time(at, text) {
  return h('time', { datetime: at ? new Date(at).toISOString() : undefined, title: fmtDateTime(at) }, text ?? fmtAgo(at));
}

function pct(x, digits = 2) {
  if (x === undefined || x === null || !Number.isFinite(x)) return '—';
  const v = x * 100;
  return `${v === 0 ? '0' : v >= 99.995 && v < 100 ? v.toFixed(3) : v.toFixed(v < 10 ? digits : 1)}%`;
}

function num(n) {
  return typeof n === 'number' ? n.toLocaleString() : '—';
}

const who = (actor) => String(actor ?? '').replace(/^user:/, '');

/** a state word as a badge: colour carries meaning, the word carries it too (never colour alone) */
function badge(word, kind) {
  const label = String(word ?? '').replaceAll('_', ' ');
  return h('span', { class: `badge badge-${kind ?? toneOf(word)}` }, label);
}

function toneOf(word) {
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

// ---------------------------------------------------------------- API

class AuthError extends Error {}

async function api(path, opts = {}) {
  const headers = { authorization: `Bearer ${state.token}` };
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(path, {
    method: opts.method ?? 'GET',
    headers,
    body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
    cache: 'no-store',
    signal: opts.signal,
  });
  if (res.status === 401) {
    signOut('The controller refused this token. Paste the current one from <state_dir>/token.');
    throw new AuthError('unauthorized');
  }
  const body = await res.json().catch(() => ({}));
  if (!res.ok) {
    const e = body.error ?? {};
    throw new Error([e.message ?? `HTTP ${res.status}`, e.hint].filter(Boolean).join(' — '));
  }
  return body;
}

// ---------------------------------------------------------------- token and sign-in

function tokenFromFragment() {
  const hash = location.hash.startsWith('#') ? location.hash.slice(1) : '';
  const t = new URLSearchParams(hash).get('token');
  if (hash) {
    // The token leaves the address bar (and history) at once; it stays in this tab's session storage.
    history.replaceState(null, '', location.pathname + location.search);
  }
  return t ? t.trim() : '';
}

function signOut(message) {
  sessionStorage.removeItem(TOKEN_KEY);
  state.token = '';
  state.streamAbort?.abort();
  state.streamAbort = null;
  setConn('signed-out', 'not signed in');
  $('main').hidden = true;
  $('sign-out').hidden = true;
  $('signin').hidden = false;
  $('signin-error').textContent = message ?? '';
  $('token-input').focus();
}

function signIn(token) {
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('signin').hidden = true;
  $('main').hidden = false;
  $('sign-out').hidden = false;
  void start();
}

// ---------------------------------------------------------------- refresh scheduling

const drills = createDrillsPanel({ api, h, render, empty, badge, time, fmtDuration, $ });
const approvals = createApprovalsPanel({ api, h, render, empty, time, $ });

const loaders = {
  status: loadStatus,
  deployments: loadDeployments,
  incidents: loadIncidents,
  drills: drills.load,
  approvals: approvals.load,
};

const refresh = {
  pending: new Set(),
  timer: undefined,
  running: false,
  lastRun: new Map(),
};

/** Coalesces the refreshes asked for by a burst of events into one round of requests. */
function scheduleRefresh(...what) {
  for (const w of what) refresh.pending.add(w);
  if (refresh.timer || refresh.running) return;
  refresh.timer = setTimeout(runRefresh, 250);
}

async function runRefresh() {
  refresh.timer = undefined;
  if (!state.token) return;
  refresh.running = true;
  const now = Date.now();
  const due = [];
  let wait = 0;
  for (const w of refresh.pending) {
    const gap = now - (refresh.lastRun.get(w) ?? 0);
    if (gap >= MIN_REFRESH_GAP_MS) due.push(w);
    else wait = Math.max(wait, MIN_REFRESH_GAP_MS - gap);
  }
  for (const w of due) {
    refresh.pending.delete(w);
    refresh.lastRun.set(w, now);
  }
  try {
    await Promise.all(due.map((w) => loaders[w]().catch((err) => reportError(w, err))));
  } finally {
    refresh.running = false;
    if (refresh.pending.size) refresh.timer = setTimeout(runRefresh, Math.max(250, wait));
  }
}

function reportError(what, err) {
  if (err instanceof AuthError) return;
  console.warn(`greenlight dashboard: ${what}:`, err);
  toast(`Could not load ${what}: ${err.message ?? err}`);
}

let toastTimer;
function toast(text, tone = 'bad') {
  const t = $('toast');
  t.textContent = text;
  t.className = `toast toast-${tone}`;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 6000);
}

function announce(text) {
  const a = $('announce');
  a.textContent = '';
  setTimeout(() => (a.textContent = text), 50);
}

// ---------------------------------------------------------------- loaders

async function loadStatus() {
  state.status = await api('/v1/status');
  const c = state.status.controller;
  $('controller-meta').textContent = c ? `${c.url} · pid ${c.pid} · ${c.config}` : '';
  renderEnvironments();
  renderMonitoring();
  renderRunning();
}

async function loadDeployments() {
  const { deployments } = await api('/v1/deployments');
  state.deployments = deployments;
  await loadRunningEvents();
  renderDeployments();
  renderRunning();
  charts().setDeployments(state.deployments);
  // the environment cards mark where a deployment is going
  if (state.status) renderEnvironments();
}

/** The events of running deployments (and the latest finished one): steps, verdicts, pauses. */
async function loadRunningEvents() {
  const wanted = runningDeployments().map((d) => d.id);
  if (!wanted.length && state.deployments[0]) wanted.push(state.deployments[0].id);
  const fresh = new Map();
  await Promise.all(
    wanted.map(async (id) => {
      const q = new URLSearchParams({ subject: `deployment/${id}`, order: 'desc', limit: '300' });
      const { events } = await api(`/v1/events?${q}`);
      fresh.set(id, events);
    }),
  );
  state.deploymentEvents = fresh;
}

async function loadIncidents() {
  const { incidents } = await api('/v1/incidents');
  incidents.sort((a, b) => active(b) - active(a) || b.openedAt - a.openedAt);
  state.incidents = incidents;
  const firstActive = incidents.find((i) => i.state !== 'resolved');
  if (firstActive && !state.autoExpanded.has(firstActive.id)) {
    state.autoExpanded.add(firstActive.id);
    state.expanded.add(firstActive.id);
  }
  await Promise.all([...state.expanded].filter((id) => incidents.some((i) => i.id === id)).map((id) => loadIncidentDetail(id, false)));
  renderIncidents();
}

const active = (i) => (i.state === 'resolved' ? 0 : 1);

async function loadIncidentDetail(id, rerender = true) {
  const detail = await api(`/v1/incidents/${encodeURIComponent(id)}`);
  state.incidentDetails.set(id, detail);
  if (state.postmortems.has(id)) await loadPostmortem(id, false);
  if (rerender) renderIncidents();
}

async function loadPostmortem(id, rerender = true) {
  const { markdown } = await api(`/v1/incidents/${encodeURIComponent(id)}/postmortem?format=md`);
  if (state.postmortems.get(id) !== markdown) {
    state.postmortems.set(id, markdown);
    if (state.postmortemUrls.has(id)) URL.revokeObjectURL(state.postmortemUrls.get(id));
    state.postmortemUrls.set(id, URL.createObjectURL(new Blob([markdown], { type: 'text/markdown' })));
  }
  if (rerender) renderIncidents();
}

// ---------------------------------------------------------------- environments

function renderEnvironments() {
  const envs = state.status?.environments ?? [];
  if (!envs.length) return render($('envs'), empty('No environments configured.'));
  const cards = [];
  envs.forEach((env, i) => {
    if (i > 0) cards.push(h('div', { class: 'pipe-arrow', 'aria-hidden': 'true' }, '→'));
    cards.push(
      h(
        'article',
        { class: 'env', 'aria-label': `Environment ${env.name}`, dataset: { env: env.name } },
        h('h3', { class: 'env-name' }, h('span', { class: 'env-step' }, `${i + 1}`), env.name),
        env.services.map((s) => renderServiceInEnv(env, s)),
      ),
    );
  });
  render($('envs'), h('div', { class: 'pipeline' }, cards));
}

function renderServiceInEnv(env, s) {
  const stable = s.stable?.version;
  const router = s.router ?? {};
  const table = router.table?.versions ?? [];
  const stats = router.versions ?? {};
  const totalReq = Object.values(stats).reduce((n, v) => n + (v.requests ?? 0), 0);
  const totalErr = Object.values(stats).reduce((n, v) => n + (v.errors ?? 0), 0);
  // the running deployment is per service; it only concerns this environment if it goes through it
  const dep = s.runningDeployment ? state.deployments.find((d) => d.id === s.runningDeployment) : undefined;
  const running = dep?.environments.some((e) => e.name === env.name && (e.state === 'running' || e.state === 'pending')) ? dep : undefined;

  return h(
    'div',
    { class: 'svc', dataset: { service: s.service } },
    h(
      'div',
      { class: 'svc-head' },
      h('span', { class: 'svc-name' }, s.service),
      h('span', { class: 'svc-stable' }, h('span', { class: 'label' }, 'stable '), h('strong', { class: 'version', dataset: { role: 'stable-version' } }, stable ?? 'none')),
      s.stable ? h('span', { class: 'muted small' }, 'since ', time(s.stable.since)) : null,
      running ? h('span', { class: 'badge badge-warn' }, `deploying ${running.version}`) : null,
    ),
    router.reachable === false
      ? h('p', { class: 'warnline' }, `Router ${router.url} unreachable: ${router.error ?? ''}`)
      : splitBar(table, stable, `${env.name}/${s.service}`),
    h(
      'p',
      { class: 'svc-stats' },
      h('span', {}, h('span', { class: 'label' }, 'requests '), num(totalReq)),
      h('span', {}, h('span', { class: 'label' }, 'errors '), num(totalErr)),
      h('span', { class: totalReq && totalErr / totalReq > 0.01 ? 'bad-text' : '' }, h('span', { class: 'label' }, 'error rate '), totalReq ? pct(totalErr / totalReq) : '—'),
      router.url ? h('span', { class: 'muted small' }, router.url.replace(/^https?:\/\//, '')) : null,
    ),
    versionTable(table, stats, stable),
    instanceTable(s.instances ?? []),
  );
}

function splitBar(allVersions, stable, label) {
  // a version at weight 0 (a canary pulled back, kept for its instances) takes no room in the bar
  const table = allVersions.filter((v) => v.weight > 0);
  const total = table.reduce((n, v) => n + v.weight, 0);
  if (!table.length || total === 0) return h('p', { class: 'warnline' }, 'Router has no traffic split (no version serving).');
  const described = table.map((v) => `${v.version} ${Math.round((v.weight / total) * 1000) / 10}%`).join(', ');
  return h(
    'div',
    { class: 'split', role: 'img', 'aria-label': `Traffic split for ${label}: ${described}`, dataset: { role: 'split' }, title: described },
    table.map((v) => {
      const share = (v.weight / total) * 100;
      const canary = stable && v.version !== stable;
      return h(
        'div',
        { class: `split-seg ${canary ? 'split-canary' : 'split-stable'}`, style: { flexGrow: String(Math.max(share, 0)), flexBasis: '0' }, dataset: { version: v.version, weight: String(v.weight) } },
        h('span', { class: 'split-label' }, `${v.version} · ${share < 1 && share > 0 ? share.toFixed(1) : Math.round(share)}%`),
      );
    }),
  );
}

function versionTable(table, stats, stable) {
  const versions = [...new Set([...table.map((v) => v.version), ...Object.keys(stats)])];
  if (!versions.length) return null;
  return h(
    'table',
    { class: 'grid grid-compact' },
    h('caption', { class: 'sr-only' }, 'Router statistics per version'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'version'), h('th', { scope: 'col', class: 'num' }, 'weight'), h('th', { scope: 'col', class: 'num' }, 'requests'), h('th', { scope: 'col', class: 'num' }, 'errors'), h('th', { scope: 'col', class: 'num' }, 'error rate'))),
    h(
      'tbody',
      {},
      versions.map((v) => {
        const st = stats[v] ?? {};
        const w = table.find((t) => t.version === v)?.weight ?? st.weight ?? 0;
        const rate = st.requests ? st.errors / st.requests : undefined;
        return h(
          'tr',
          {},
          h('td', {}, v, v === stable ? h('span', { class: 'tag' }, 'stable') : h('span', { class: 'tag tag-canary' }, 'canary')),
          h('td', { class: 'num' }, `${w}%`),
          h('td', { class: 'num' }, num(st.requests ?? 0)),
          h('td', { class: 'num' }, num(st.errors ?? 0)),
          h('td', { class: `num ${rate > 0.01 ? 'bad-text' : ''}` }, rate === undefined ? '—' : pct(rate)),
        );
      }),
    ),
  );
}

function instanceTable(instances) {
  if (!instances.length) return h('p', { class: 'muted small' }, 'No instances running.');
  return h(
    'table',
    { class: 'grid grid-compact' },
    h('caption', { class: 'sr-only' }, 'Instances'),
    h('thead', {}, h('tr', {}, h('th', { scope: 'col' }, 'instance'), h('th', { scope: 'col' }, 'version'), h('th', { scope: 'col' }, 'state'), h('th', { scope: 'col', class: 'num' }, 'port'), h('th', { scope: 'col', class: 'num' }, 'restarts'))),
    h(
      'tbody',
      {},
      instances.map((i) =>
        h(
          'tr',
          {},
          h('td', {}, h('span', { class: 'mono inst-id' }, i.id), i.role ? h('span', { class: 'tag' }, i.role) : null),
          h('td', {}, i.version),
          h('td', {}, badge(i.state)),
          h('td', { class: 'num mono' }, i.port),
          h('td', { class: `num ${i.restarts > 0 ? 'bad-text' : ''}` }, i.restarts),
        ),
      ),
    ),
  );
}

// ---------------------------------------------------------------- running deployment

function runningDeployments() {
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

function renderRunning() {
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

function confirmDialog(title, text, verb) {
  const dlg = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = verb;
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dlg.addEventListener(
      'close',
      () => {
        resolve(dlg.returnValue === 'ok');
        if (opener instanceof HTMLElement) {
          // the panel may have been re-rendered meanwhile: find the same control by its key
          const key = opener.dataset.key;
          (key ? document.querySelector(`[data-key="${CSS.escape(key)}"]`) : opener)?.focus();
        }
      },
      { once: true },
    );
    dlg.returnValue = 'cancel';
    dlg.showModal();
    $('confirm-cancel').focus();
  });
}

function overrides(list) {
  return h(
    'div',
    { class: 'breakglass', role: 'note' },
    h('strong', {}, 'Break-glass'),
    list.map((o) => h('p', {}, `gate of ${o.environment} overridden by `, h('strong', {}, who(o.actor)), ` ${fmtAgo(o.at)}: “${o.reason}”`)),
  );
}

// ---------------------------------------------------------------- deployments

function renderDeployments() {
  const list = state.deployments.slice(0, 25);
  if (!list.length) return render($('deployments'), empty('No deployments yet.'));
  render(
    $('deployments'),
    h(
      'table',
      { class: 'grid', id: 'deployments-table' },
      h('caption', { class: 'sr-only' }, 'Recent deployments, newest first'),
      h(
        'thead',
        {},
        h('tr', {}, h('th', { scope: 'col' }, 'release'), h('th', { scope: 'col' }, 'outcome'), h('th', { scope: 'col' }, 'environments'), h('th', { scope: 'col' }, 'by'), h('th', { scope: 'col' }, 'when'), h('th', { scope: 'col', class: 'num' }, 'took')),
      ),
      h(
        'tbody',
        {},
        list.flatMap((d) => {
          const rows = [
            h(
              'tr',
              { class: d.overrides?.length ? 'row-breakglass' : '', dataset: { deployment: d.id } },
              h('td', {}, h('strong', {}, `${d.service}@${d.version}`), h('div', { class: 'muted small mono' }, d.id)),
              h('td', {}, badge(d.state), d.overrides?.length ? h('span', { class: 'badge badge-breakglass', title: 'deployed with a break-glass override' }, 'break-glass') : null),
              h('td', {}, h('span', { class: 'envchips' }, d.environments.map((e) => h('span', { class: `envchip envchip-${toneOf(e.state)}`, title: `${e.name}: ${e.state.replaceAll('_', ' ')}${e.reason ? ` — ${e.reason}` : ''}` }, `${e.name} ${symbolOf(e.state)}`)))),
              h('td', {}, who(d.requestedBy)),
              h('td', {}, time(d.requestedAt)),
              h('td', { class: 'num' }, d.endedAt ? fmtDuration(d.endedAt - d.requestedAt) : '…'),
            ),
          ];
          const notes = [];
          for (const o of d.overrides ?? []) notes.push(h('p', { class: 'bg-note' }, h('strong', {}, 'Break-glass: '), `${o.environment} gate overridden by `, h('strong', {}, who(o.actor)), ` — “${o.reason}”`));
          if (d.reason && d.state !== 'promoted') notes.push(h('p', { class: 'reason' }, d.reason));
          if (notes.length) rows.push(h('tr', { class: `row-detail ${d.overrides?.length ? 'row-breakglass' : ''}` }, h('td', { colspan: '6' }, notes)));
          return rows;
        }),
      ),
    ),
  );
}

function symbolOf(s) {
  return { passed: '✓', running: '●', pending: '○', skipped: '–', blocked: '■', rolled_back: '↶', failed: '✗' }[s] ?? '';
}

// ---------------------------------------------------------------- incidents

function renderIncidents() {
  const list = state.incidents;
  if (!list.length) return render($('incidents'), empty('No incidents. Rollbacks, alerts at page severity and people open them.'));
  render($('incidents'), h('ul', { class: 'incidents', role: 'list' }, list.slice(0, 20).map(incidentItem)));
}

function incidentItem(inc) {
  const open = state.expanded.has(inc.id);
  const detail = state.incidentDetails.get(inc.id);
  const det = h(
    'details',
    {
      class: `incident incident-${inc.state}`,
      open: open,
      dataset: { incident: inc.id },
      ontoggle: (ev) => {
        const isOpen = ev.currentTarget.open;
        if (isOpen === state.expanded.has(inc.id)) return;
        if (isOpen) {
          state.expanded.add(inc.id);
          if (!state.incidentDetails.has(inc.id)) loadIncidentDetail(inc.id).catch((err) => reportError('incident', err));
        } else state.expanded.delete(inc.id);
      },
    },
    h(
      'summary',
      { dataset: { key: `inc-${inc.id}` } },
      badge(inc.severity),
      ' ',
      badge(inc.state),
      ' ',
      h('span', { class: 'inc-title' }, inc.title),
      h('span', { class: 'muted small' }, ' · opened ', time(inc.openedAt), inc.environment ? ` · ${inc.environment}` : ''),
    ),
    open ? (detail ? incidentDetail(inc, detail) : h('p', { class: 'muted' }, 'Loading…')) : null,
  );
  return h('li', {}, det);
}

function incidentDetail(inc, r) {
  const d = r.durations ?? {};
  const im = r.impact ?? {};
  const pm = state.postmortems.get(inc.id);
  return h(
    'div',
    { class: 'inc-body' },
    inc.summary ? h('p', { class: 'reason' }, inc.summary) : null,
    h(
      'dl',
      { class: 'facts' },
      fact('impact lasted', d.impactMs !== undefined ? `${fmtDuration(d.impactMs)}${d.ongoing ? ' (ongoing)' : ''}` : '—'),
      fact('time to detect', fmtDuration(d.timeToDetectMs)),
      fact('time to acknowledge', fmtDuration(d.timeToAcknowledgeMs)),
      fact('time to mitigate', fmtDuration(d.timeToMitigateMs)),
      fact('time to resolve', fmtDuration(d.timeToResolveMs)),
      im.measured ? fact('requests failed', `${num(im.failed)} of ${num(im.requests)} (${pct(im.failedShare)})`) : fact('impact', 'not measured'),
      im.measured && im.canaryRequests !== undefined ? fact('canary requests', `${num(im.canaryFailed)} failed of ${num(im.canaryRequests)}`) : null,
      im.measured && im.clients ? fact('clients affected', `${num(im.clientsWithErrors)} of ${num(im.clients)}`) : null,
    ),
    r.breakGlass?.length ? overrides(r.breakGlass.map((b) => ({ environment: b.environment, actor: b.actor, reason: b.reason, at: b.at }))) : null,
    r.rootCause?.text ? h('p', {}, h('span', { class: 'label' }, 'root cause '), r.rootCause.text) : null,
    r.measures?.length ? h('div', {}, h('h4', {}, 'Suggested measures'), h('ul', { class: 'measures' }, r.measures.map((m) => h('li', {}, m.text)))) : null,
    h('h4', {}, 'Timeline'),
    h(
      'ol',
      { class: 'timeline' },
      (r.timeline ?? []).map((t) =>
        h(
          'li',
          { class: t.milestone ? `tl-milestone tl-${t.milestone}` : '' },
          h('time', { datetime: new Date(t.at).toISOString(), title: fmtDateTime(t.at) }, fmtTime(t.at)),
          h('span', { class: 'tl-text' }, t.milestone ? h('span', { class: 'tag tag-milestone' }, t.milestone) : null, t.text, h('span', { class: 'tl-actor' }, ` — ${who(t.actor)}`)),
        ),
      ),
    ),
    h(
      'div',
      { class: 'actions' },
      inc.state === 'open' ? h('button', { type: 'button', class: 'btn', dataset: { key: `ack-${inc.id}` }, onclick: () => incidentAction(inc, 'acknowledge') }, 'Acknowledge') : null,
      inc.state !== 'resolved' ? h('button', { type: 'button', class: 'btn', dataset: { key: `resolve-${inc.id}` }, onclick: () => incidentAction(inc, 'resolve') }, 'Resolve') : null,
      h(
        'button',
        {
          type: 'button',
          class: 'btn',
          'aria-expanded': pm ? 'true' : 'false',
          'aria-controls': `pm-${inc.id}`,
          dataset: { key: `pm-${inc.id}` },
          onclick: () => {
            if (state.postmortems.has(inc.id)) {
              state.postmortems.delete(inc.id);
              renderIncidents();
            } else loadPostmortem(inc.id).catch((err) => reportError('postmortem', err));
          },
        },
        pm ? 'Hide postmortem' : 'Show postmortem',
      ),
      pm ? h('a', { class: 'btn btn-quiet', href: state.postmortemUrls.get(inc.id), download: `postmortem-${inc.id}.md` }, 'Download .md') : null,
    ),
    pm ? h('pre', { class: 'postmortem', id: `pm-${inc.id}`, tabindex: '0', 'aria-label': 'Postmortem draft (Markdown)' }, stripMarkers(pm)) : null,
  );
}

/** the edit-preserving section markers are for regeneration, not for reading */
function stripMarkers(md) {
  return md.replace(/^<!-- greenlight:[^>]*-->\n?/gm, '').replace(/\n{3,}/g, '\n\n');
}

function fact(term, value) {
  return h('div', {}, h('dt', {}, term), h('dd', {}, value));
}

async function incidentAction(inc, what) {
  const verb = what === 'acknowledge' ? 'Acknowledge' : 'Resolve';
  const text = what === 'acknowledge' ? `Acknowledge incident “${inc.title}”? You take it; escalation stops.` : `Resolve incident “${inc.title}”? Its durations stop counting.`;
  if (!(await confirmDialog(`${verb} ${inc.id}`, text, verb))) return;
  try {
    await api(`/v1/incidents/${encodeURIComponent(inc.id)}/${what}`, { method: 'POST', body: {} });
    toast(`${verb}d ${inc.id}`, 'ok');
    scheduleRefresh('incidents');
  } catch (err) {
    if (!(err instanceof AuthError)) toast(`${verb} failed: ${err.message}`);
  }
}

// ---------------------------------------------------------------- monitoring

function renderMonitoring() {
  const st = state.status ?? {};
  const monitors = st.monitors ?? [];
  const parts = [];

  const pages = st.pages ?? [];
  parts.push(
    h(
      'div',
      { class: 'mon-block' },
      h('h3', {}, 'On-call pages'),
      pages.length
        ? h(
            'ul',
            { class: 'plain' },
            pages.map((p) =>
              h(
                'li',
                { class: 'page-item' },
                badge(p.state),
                ' ',
                p.notification?.summary ?? p.subject,
                h('span', { class: 'muted small' }, ` · level ${p.level + 1}${p.exhausted ? ' (exhausted)' : ''} · `, time(p.createdAt), p.acknowledgedBy ? ` · acked by ${who(p.acknowledgedBy)}` : ''),
                p.state === 'triggered' ? h('button', { type: 'button', class: 'btn btn-small', dataset: { key: `page-ack-${p.id}` }, onclick: () => pageAck(p) }, 'Acknowledge') : null,
              ),
            ),
          )
        : empty('Nobody is being paged.'),
    ),
  );

  const firing = [];
  for (const a of st.alerts ?? []) if (a.state !== 'resolved') firing.push({ name: a.labels?.alertname ?? 'alert', state: a.state, where: [a.labels?.environment, a.labels?.service].filter(Boolean).join('/'), text: a.annotations?.summary ?? a.annotations?.description ?? '', since: a.startsAt, suppressed: a.status?.state === 'suppressed' });
  for (const m of monitors) for (const a of m.alerts ?? []) if (!(st.alerts ?? []).some((x) => x.labels?.alertname === a.name && x.labels?.environment === m.environment)) firing.push({ name: a.name, state: a.state, where: `${m.environment}/${m.service}`, text: a.annotations?.summary ?? '', since: a.firedAt ?? a.activeAt });
  parts.push(
    h(
      'div',
      { class: 'mon-block' },
      h('h3', {}, 'Alerts'),
      firing.length
        ? h('ul', { class: 'plain' }, firing.map((a) => h('li', {}, badge(a.state), a.suppressed ? badge('silenced', 'neutral') : null, ' ', h('strong', {}, a.name), a.where ? h('span', { class: 'muted small' }, ` ${a.where}`) : null, a.text ? ` — ${a.text}` : '', h('span', { class: 'muted small' }, ' · ', time(a.since)))))
        : empty('No alert is firing.'),
    ),
  );

  if (!monitors.length) {
    parts.push(h('p', { class: 'empty' }, 'No monitors configured: add ', h('code', {}, 'slos:'), ' to a service or ', h('code', {}, 'monitors:'), ' to an environment in greenlight.yaml.'));
  }
  for (const m of monitors) parts.push(monitorBlock(m));
  render($('monitoring'), parts);
}

function monitorBlock(m) {
  const slos = m.slos ?? [];
  const anomalies = m.anomalies ?? [];
  const trends = m.trends ?? [];
  const probes = m.probes ?? [];
  const down = probes.filter((p) => p.state === 'down');
  return h(
    'div',
    { class: 'mon-block', dataset: { monitor: `${m.environment}/${m.service}` } },
    h('h3', {}, `${m.environment} / ${m.service}`, m.running ? null : h('span', { class: 'badge badge-warn' }, 'stopped')),
    slos.length ? h('ul', { class: 'slos', 'aria-label': `SLOs of ${m.service} in ${m.environment}` }, slos.map(sloItem)) : h('p', { class: 'muted small' }, 'No SLOs.'),
    anomalies.length ? h('div', {}, h('h4', {}, 'Anomalies'), h('ul', { class: 'plain' }, anomalies.map((a) => h('li', {}, badge('anomaly', 'warn'), ' ', a.message, h('span', { class: 'muted small' }, ` · score ${a.score.toFixed(2)} / ${a.threshold} · since `, time(a.since)))))) : null,
    trends.length ? h('div', {}, h('h4', {}, 'Trend warnings'), h('ul', { class: 'plain' }, trends.map((t) => h('li', {}, badge(t.status ?? 'trend', 'warn'), ' ', t.message, t.etaMs !== undefined ? h('span', { class: 'muted small' }, ` · limit in ${fmtDuration(t.etaMs)}`) : null)))) : null,
    probes.length ? h('p', { class: 'small' }, h('span', { class: 'label' }, 'probes '), `${probes.length - down.length}/${probes.length} up`, down.map((p) => h('span', { class: 'bad-text' }, ` · ${p.probe} down${p.lastError ? `: ${p.lastError}` : ''}`))) : null,
    !anomalies.length && !trends.length ? h('p', { class: 'muted small' }, 'No anomaly or trend warning.') : null,
  );
}

function sloItem(s) {
  return h(
    'li',
    { class: 'slo', dataset: { slo: s.name } },
    h(
      'div',
      { class: 'slo-head' },
      h('strong', {}, s.name),
      s.compliant === false ? badge('overspent', 'bad') : s.compliant ? badge('compliant') : null,
      h('span', { class: 'slo-num' }, h('span', { class: 'label' }, 'objective '), pct(s.objective, 2)),
      h('span', { class: 'slo-num' }, h('span', { class: 'label' }, 'achieved '), s.errorRatio === undefined ? '—' : pct(1 - s.errorRatio, 3)),
    ),
    h('div', { class: 'slo-budget' }, h('span', { class: 'label' }, 'error budget left '), budgetBar(s.budgetRemaining), budgetSpentText(s)),
    s.tooLittleData ? h('p', { class: 'warnline small' }, s.tooLittleData) : null,
    s.problem ? h('p', { class: 'warnline small' }, s.problem) : null,
    (s.alerts ?? []).length
      ? h(
          'ul',
          { class: 'burns', 'aria-label': 'Burn rates' },
          s.alerts.map((a) =>
            h(
              'li',
              { class: a.firing ? 'bad-text' : '' },
              h('span', { class: 'burn-sev' }, a.severity),
              a.longBurnRate === undefined && a.shortBurnRate === undefined
                ? ` no traffic over ${fmtDuration(a.longWindowMs)} / ${fmtDuration(a.shortWindowMs)}`
                : ` burn ${burn(a.longBurnRate)} over ${fmtDuration(a.longWindowMs)}, ${burn(a.shortBurnRate)} over ${fmtDuration(a.shortWindowMs)}`,
              h('span', { class: 'muted' }, ` (alerts at ×${a.burnRateThreshold})`),
              a.longWindowFull === false && s.coveredMs !== undefined ? h('span', { class: 'muted' }, ` — ${fmtDuration(a.longWindowMs)} window not full yet: ${fmtDuration(s.coveredMs)} held`) : '',
              a.firing ? ' — firing' : '',
            ),
          ),
        )
      : null,
  );
}

// The budget is the whole period's: what is spent so far is a share of it, not of the data held.
function budgetSpentText(s) {
  if (s.budgetSpent === undefined || s.budgetSpent === null || s.periodMs === undefined) return null;
  const sofar = s.coveredMs !== undefined && s.coveredMs < s.periodMs ? ` over the ${fmtDuration(s.coveredMs)} so far` : '';
  return h('span', { class: 'muted small' }, ` — ${pct(s.budgetSpent, 2)} of the ${fmtDuration(s.periodMs)} budget spent${sofar}`);
}

function burn(x) {
  return x === undefined || x === null ? '—' : `×${x < 10 ? x.toFixed(2) : Math.round(x)}`;
}

function budgetBar(rem) {
  if (rem === undefined || rem === null) return h('span', { class: 'muted small' }, 'no traffic yet');
  const v = Math.max(0, Math.min(1, rem));
  const tone = rem < 0 ? 'bad' : rem < 0.25 ? 'warn' : 'ok';
  return h(
    'span',
    { class: 'budget' },
    h('span', { class: 'meter meter-small', role: 'meter', 'aria-valuemin': '0', 'aria-valuemax': '100', 'aria-valuenow': String(Math.round(v * 100)), 'aria-label': 'Error budget remaining' }, h('span', { class: `meter-fill meter-${tone}`, style: { width: `${v * 100}%` } })),
    h('span', { class: `small ${tone === 'bad' ? 'bad-text' : ''}` }, pct(rem, 1)),
  );
}

async function pageAck(p) {
  if (!(await confirmDialog(`Acknowledge page`, `Acknowledge “${p.notification?.summary ?? p.subject}”? Escalation stops.`, 'Acknowledge'))) return;
  try {
    await api(`/v1/pages/${encodeURIComponent(p.id)}/acknowledge`, { method: 'POST', body: {} });
    scheduleRefresh('status', 'incidents');
  } catch (err) {
    if (!(err instanceof AuthError)) toast(`Acknowledge failed: ${err.message}`);
  }
}

// ---------------------------------------------------------------- event feed

const NOISY = new Set(['monitor.summary']);

function describe(e) {
  const d = e.data ?? {};
  const env = d.environment ? `${d.environment}: ` : '';
  const rel = d.service && d.version ? `${d.service}@${d.version}` : d.service ?? '';
  switch (e.type) {
    case 'release.registered':
      return `release ${rel} registered`;
    case 'deployment.requested':
      return `deployment of ${rel} to ${(d.environments ?? []).join(', ')} requested${d.force ? ' (forced)' : ''}`;
    case 'deployment.environment.started':
      return `${env}${rel} enters`;
    case 'deployment.gate.passed':
      return `${env}gate passed: ${d.because ?? ''}`;
    case 'deployment.gate.overridden':
      return `${env}BREAK-GLASS by ${who(d.forcedBy ?? e.actor)}: “${d.reason}” (${d.missing ?? ''})`;
    case 'deployment.stage':
      return `${env}stage ${d.stage}`;
    case 'rollout.step.started':
      return `${env}canary step ${d.step + 1}: ${d.weight}% of traffic for ${fmtDuration(d.holdMs)}`;
    case 'analysis.verdict':
      return `${env}analysis ${d.verdict}: ${d.summary ?? ''}`;
    case 'rollout.weight.zero':
      return `${env}canary at weight 0: ${d.reason ?? ''}`;
    case 'rollout.paused':
    case 'rollout.resumed':
      return `rollout of ${d.service} ${e.type.slice(8)} by ${who(e.actor)}`;
    case 'rollout.promote.requested':
      return `promotion (${d.promote}) of ${d.service} requested by ${who(e.actor)}`;
    case 'rollout.promoted':
      return `${env}canary promoted to 100%`;
    case 'check.passed':
    case 'check.failed':
      return `${env}check ${d.name} ${e.type === 'check.passed' ? 'passed' : 'failed'}: ${d.message ?? ''}`;
    case 'router.switched':
      return `${env}router sends ${d.service} traffic to ${d.to}${d.from ? ` (was ${d.from})` : ''}`;
    case 'environment.stable.changed':
      return `${env}stable ${d.service} is now ${d.version}`;
    case 'deployment.environment.passed':
      return `${env}${rel} passed`;
    case 'deployment.environment.rolled_back':
      return `${env}${rel} rolled back: ${d.reason ?? ''}`;
    case 'deployment.environment.blocked':
      return `${env}${rel} blocked: ${d.reason ?? ''}`;
    case 'deployment.environment.failed':
      return `${env}${rel} failed: ${d.reason ?? ''}`;
    case 'deployment.promoted':
    case 'deployment.rolled_back':
    case 'deployment.blocked':
    case 'deployment.failed':
    case 'deployment.aborted':
      return `deployment of ${rel} ${e.type.slice(11).replace('_', ' ')}${d.reason ? `: ${d.reason}` : ''}`;
    case 'instance.started':
    case 'instance.ready':
    case 'instance.stopped':
    case 'instance.crashed':
    case 'instance.restarted':
      return `${env}instance ${e.subject.replace(/^instance\//, '')} (${rel}) ${e.type.slice(9)}${d.port ? ` on port ${d.port}` : ''}`;
    case 'incident.opened':
      return `incident opened (${d.severity}): ${d.title}`;
    case 'incident.acknowledged':
    case 'incident.mitigated':
    case 'incident.resolved':
      return `incident ${e.subject.replace(/^incident\//, '')} ${e.type.slice(9)}${d.reason ? `: ${d.reason}` : ''}`;
    case 'page.sent':
      return `paged ${(d.users ?? []).join(', ') || 'nobody'} (level ${(d.level ?? 0) + 1})${d.reason ? `: ${d.reason}` : ''}`;
    case 'monitor.alert.pending':
    case 'monitor.alert.firing':
    case 'monitor.alert.resolved': {
      const where = [d.labels?.environment, d.labels?.service].filter(Boolean).join('/');
      return `${where ? `${where}: ` : ''}alert ${d.name} ${e.type.slice(14)}${d.annotations?.summary ? ` — ${d.annotations.summary}` : ''}`;
    }
    case 'alert.pending':
    case 'alert.firing':
    case 'alert.resolved':
      return `alert ${d.alertname} ${e.type.slice(6)}${d.annotations?.summary ? ` — ${d.annotations.summary}` : ''}`;
    case 'monitor.probe.up':
    case 'monitor.probe.down':
      return `probe ${e.subject.replace(/^probe\//, '')} ${e.type.slice(14)}${d.error ? `: ${d.error}` : ''}`;
    case 'monitor.anomaly':
    case 'monitor.trend.warning':
      return `${env}${d.message ?? e.type}`;
    default: {
      const msg = d.message ?? d.summary ?? d.reason ?? '';
      return `${e.type}${msg ? `: ${msg}` : ''}`;
    }
  }
}

function categoryOf(type) {
  if (/^(incident|page)\./.test(type) || /rolled_back|failed|blocked|weight\.zero|overridden|aborted/.test(type)) return 'bad';
  if (/^(alert|monitor)\./.test(type)) return 'warn';
  if (/promoted|passed|stable\.changed/.test(type)) return 'ok';
  return 'neutral';
}

function renderFeed() {
  const items = state.feed.filter((e) => state.showNoisy || !NOISY.has(e.type)).slice(0, 100);
  if (!items.length) return render($('feed'), h('li', { class: 'empty' }, 'Waiting for events…'));
  render(
    $('feed'),
    items.map((e) =>
      h(
        'li',
        { class: `ev ev-${categoryOf(e.type)}`, dataset: { type: e.type, seq: String(e.seq) } },
        h('time', { datetime: new Date(e.time).toISOString(), title: fmtDateTime(e.time) }, fmtTime(e.time)),
        h('span', { class: 'ev-type' }, e.type),
        h('span', { class: 'ev-actor' }, who(e.actor)),
        h('span', { class: 'ev-text' }, describe(e)),
      ),
    ),
  );
}

let feedTimer;
function pushFeed(events) {
  for (const e of events) state.feed.unshift(e);
  state.feed.length = Math.min(state.feed.length, FEED_MAX);
  // a burst of events re-renders the feed once
  if (!feedTimer) feedTimer = setTimeout(() => ((feedTimer = undefined), renderFeed()), 100);
}

/** Which panels an event changes. */
function panelsFor(type) {
  const p = new Set();
  if (/^(deployment|rollout|analysis)\./.test(type)) p.add('deployments').add('status');
  if (/^check\./.test(type)) p.add('deployments');
  if (/^(router|environment|instance|monitor|alert|page)\./.test(type)) p.add('status');
  if (/^(incident|page)\./.test(type) || type === 'deployment.rolled_back') p.add('incidents');
  if (/^drill\./.test(type)) p.add('drills');
  if (/^approval\./.test(type) || /^deployment\.(promoted|blocked|rolled_back|failed|aborted)$/.test(type)) p.add('approvals');
  return [...p];
}

// the chart panel is its own module (web/charts.js); created on first use, once the page is shown
let chartsPanel;
function charts() {
  chartsPanel ??= createChartsPanel({ container: $('charts'), api });
  return chartsPanel;
}

function onEvent(e) {
  if (typeof e.seq !== 'number' || e.seq <= state.lastSeq) return;
  state.lastSeq = e.seq;
  pushFeed([e]);
  if (e.type === 'analysis.samples') charts().refresh(e.data?.deploymentId);
  const panels = panelsFor(e.type);
  if (panels.length) scheduleRefresh(...panels);
  if (e.type === 'incident.opened') announce(`Incident opened: ${e.data?.title ?? ''}`);
  if (e.type === 'deployment.rolled_back') announce(`Deployment rolled back: ${e.data?.service}@${e.data?.version}`);
  if (e.type === 'deployment.promoted') announce(`Deployment promoted: ${e.data?.service}@${e.data?.version}`);
  if (e.type === 'page.sent') announce('Someone is being paged');
}

// ---------------------------------------------------------------- the stream

function setConn(kind, text) {
  const el = $('conn');
  el.dataset.state = kind;
  $('conn-text').textContent = text;
}

async function stream(signal) {
  let backoff = 1000;
  while (!signal.aborted) {
    try {
      // One event already seen is asked for again: the server sends its headers with the first event,
      // so this makes the connection visibly live at once (onEvent drops the duplicate by seq).
      const res = await fetch(`/v1/events/stream?afterSeq=${Math.max(0, state.lastSeq - 1)}`, { headers: { authorization: `Bearer ${state.token}`, accept: 'text/event-stream' }, cache: 'no-store', signal });
      if (res.status === 401) return signOut('The controller refused this token.');
      if (!res.ok || !res.body) throw new Error(`HTTP ${res.status}`);
      if (!state.connected) {
        // after a reconnect the stream replays what was missed; panels reload once to be sure
        state.connected = true;
        if (backoff > 1000) scheduleRefresh('status', 'deployments', 'incidents', 'drills', 'approvals');
      }
      setConn('live', 'live');
      backoff = 1000;
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += value.replaceAll('\r\n', '\n');
        let i;
        while ((i = buf.indexOf('\n\n')) >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block
            .split('\n')
            .filter((l) => l.startsWith('data:'))
            .map((l) => l.slice(5).replace(/^ /, ''))
            .join('\n');
          if (!data) continue;
          try {
            onEvent(JSON.parse(data));
          } catch (err) {
            console.warn('greenlight dashboard: bad event', err);
          }
        }
      }
    } catch (err) {
      if (signal.aborted) return;
      console.warn('greenlight dashboard: event stream', err);
    }
    state.connected = false;
    setConn('down', `reconnecting in ${Math.round(backoff / 1000)} s`);
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 15_000);
  }
}

// ---------------------------------------------------------------- start

let pollTimer;
let tickTimer;

async function start() {
  state.streamAbort?.abort();
  const ac = new AbortController();
  state.streamAbort = ac;
  setConn('connecting', 'connecting…');
  try {
    const { events } = await api('/v1/events?order=desc&limit=100');
    state.feed = [];
    state.lastSeq = events[0]?.seq ?? 0;
    pushFeed([...events].reverse());
    await Promise.all([loadStatus(), loadDeployments(), loadIncidents(), drills.load(), approvals.load()].map((p) => p.catch((err) => reportError('dashboard', err))));
  } catch (err) {
    if (err instanceof AuthError) return;
    setConn('down', 'controller unreachable');
    toast(`Cannot reach the controller: ${err.message}`);
  }
  if (!state.token || ac.signal.aborted) return;
  void stream(ac.signal);
  clearInterval(pollTimer);
  // router counters change without events; everything else is driven by the stream
  pollTimer = setInterval(() => {
    if (document.visibilityState === 'visible' && state.token) scheduleRefresh('status');
  }, STATUS_POLL_MS);
  clearInterval(tickTimer);
  // relative times ("12 s ago") age without a reload
  tickTimer = setInterval(() => {
    for (const t of document.querySelectorAll('time[datetime]')) {
      if (t.closest('.feed, .timeline')) continue;
      const at = Date.parse(t.getAttribute('datetime'));
      if (!Number.isNaN(at) && /ago|just now/.test(t.textContent)) t.textContent = fmtAgo(at);
    }
  }, 5_000);
}

function init() {
  $('signin-form').addEventListener('submit', (ev) => {
    ev.preventDefault();
    const t = $('token-input').value.trim();
    if (!t) return;
    $('token-input').value = '';
    signIn(t);
  });
  $('sign-out').addEventListener('click', () => signOut('Signed out.'));
  $('feed-noisy').addEventListener('change', (ev) => {
    state.showNoisy = ev.currentTarget.checked;
    renderFeed();
  });
  const fromUrl = tokenFromFragment();
  const token = fromUrl || sessionStorage.getItem(TOKEN_KEY) || '';
  if (token) signIn(token);
  else signOut('');
}

init();
