// Panel: incidents (state, severity, durations, measured impact, timeline, postmortem draft).
import { AuthError, api } from '../api.js';
import { $, confirmDialog, empty, h, render } from '../dom.js';
import { badge, fmtDateTime, fmtDuration, fmtTime, num, overrides, pct, time, who } from '../format.js';
import { toast } from '../notify.js';
import { reportError, scheduleRefresh } from '../refresh.js';
import { state } from '../state.js';

export async function loadIncidentDetail(id, rerender = true) {
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

export function renderIncidents() {
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
