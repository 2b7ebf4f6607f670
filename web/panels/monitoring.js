// Panel: monitoring (pages, alerts, SLOs with budget and burn rates, anomalies, trends, probes).
import { AuthError, api } from '../api.js';
import { $, confirmDialog, empty, h, render } from '../dom.js';
import { badge, fmtDuration, pct, time, who } from '../format.js';
import { toast } from '../notify.js';
import { scheduleRefresh } from '../refresh.js';
import { state } from '../state.js';

export function renderMonitoring() {
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
