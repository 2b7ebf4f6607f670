// The drills panel and the DRILL banner, as their own module: the running drill (scenario, where,
// faults, incident, time left), the last scorecards against the targets, the team's trend and the
// next scheduled drills. Everything comes from GET /v1/drills; every string from the log is set as
// text (h() never parses HTML), so nothing a person typed can become markup.

/**
 * @param {{ api: (path: string) => Promise<any>, h: Function, render: Function, empty: Function,
 *   badge: Function, time: Function, fmtDuration: (ms: number|null|undefined) => string, $: (id: string) => HTMLElement }} ui
 */
export function createDrillsPanel(ui) {
  const { api, h, render, empty, badge, time, fmtDuration, $ } = ui;
  let data = null;

  async function load() {
    data = await api('/v1/drills');
    renderBanner();
    renderPanel();
  }

  function renderBanner() {
    const el = $('drill-banner');
    const d = data?.running;
    document.body.classList.toggle('drilling', !!d);
    if (!d) {
      el.hidden = true;
      el.replaceChildren();
      return;
    }
    el.hidden = false;
    el.replaceChildren(
      h('strong', {}, 'DRILL'),
      ` ${d.title} in ${d.environment} on ${d.service}${d.version ? `@${d.version}` : ''}: this is a rehearsal; pages, the incident and events are marked DRILL. Ends `,
      time(d.endsAt, `by ${new Date(d.endsAt).toLocaleTimeString(undefined, { hour12: false })}`),
      ' or on ',
      h('code', {}, 'greenlight drill stop'),
      '.',
    );
  }

  function measureCell(m) {
    if (!m) return h('td', {}, '—');
    const word = m.met === null ? (m.ms === null ? 'missed' : 'recorded') : m.met ? 'met' : 'missed';
    return h('td', {}, fmtDuration(m.ms), ' ', badge(word, m.met === false || m.ms === null ? 'bad' : m.met ? 'ok' : 'neutral'));
  }

  function renderPanel() {
    const body = $('drills');
    if (!data) return render(body, empty('Loading…'));
    const parts = [];
    const d = data.running;
    if (d) {
      const pushed = d.faults.filter((f) => f.pushed).length;
      parts.push(
        h(
          'div',
          { class: 'drill-running', dataset: { drill: d.id } },
          h('p', {}, badge('running', 'warn'), ' ', h('strong', {}, d.title), h('span', { class: 'muted small' }, ` · ${d.id} · ${d.environment}`)),
          h(
            'dl',
            { class: 'facts' },
            h('dt', {}, 'started'),
            h('dd', {}, time(d.startedAt)),
            h('dt', {}, 'faults'),
            h('dd', {}, `${pushed} of ${d.faults.length} in place (${[...new Set(d.faults.map((f) => f.kind))].join(', ')})`),
            h('dt', {}, 'participants'),
            h('dd', {}, d.participants.length ? d.participants.join(', ') : 'whoever is on call'),
            h('dt', {}, 'incident'),
            h('dd', {}, d.incidentId ?? 'not opened yet'),
          ),
        ),
      );
    } else parts.push(h('p', { class: 'muted' }, 'No drill is running. ', h('code', {}, 'greenlight drill run 3-june --env staging'), ' starts one.'));

    const history = data.history ?? { drills: [], missed: [], team: null };
    const recent = [...history.drills].reverse().slice(0, 5);
    if (recent.length) {
      parts.push(
        h(
          'table',
          { class: 'drill-cards' },
          h('caption', { class: 'sr-only' }, 'Recent drill scorecards'),
          h('thead', {}, h('tr', {}, ['drill', 'result', 'detect', 'acknowledge', 'diagnose', 'mitigate'].map((t) => h('th', { scope: 'col' }, t)))),
          h(
            'tbody',
            {},
            recent.map((c) =>
              h(
                'tr',
                { dataset: { drill: c.drillId } },
                h('td', {}, h('span', {}, c.scenario), h('br'), h('span', { class: 'muted small' }, c.drillId)),
                h('td', {}, badge(c.passed ? 'passed' : 'failed'), c.outcome ? h('span', { class: 'muted small' }, ` ${c.outcome}`) : null),
                measureCell(c.measures.detect),
                measureCell(c.measures.acknowledge),
                measureCell(c.measures.diagnose),
                measureCell(c.measures.mitigate),
              ),
            ),
          ),
        ),
      );
    }
    const t = history.team;
    if (t && t.drills) {
      const trend = t.change.mitigate === null ? '' : t.change.mitigate <= 0 ? `, last one ${fmtDuration(-t.change.mitigate)} faster to mitigate` : `, last one ${fmtDuration(t.change.mitigate)} slower to mitigate`;
      parts.push(h('p', { class: 'small' }, `Team: ${t.passed} of ${t.drills} passed; median acknowledge ${fmtDuration(t.median.acknowledge)}, mitigate ${fmtDuration(t.median.mitigate)}${trend}.`));
    }
    if (history.missed.length) parts.push(h('p', { class: 'warnline' }, `${history.missed.length} scheduled drill(s) missed, the last `, time(history.missed.at(-1).at), '.'));
    if (data.upcoming?.length) {
      parts.push(
        h('p', { class: 'small muted' }, 'Next: ', data.upcoming.slice(0, 2).map((s, i) => [i ? '; ' : '', `${s.scenario} `, time(s.dueAt), s.participants.length ? ` with ${s.participants.join(', ')}` : ''])),
      );
    }
    render(body, parts);
  }

  return { load };
}
