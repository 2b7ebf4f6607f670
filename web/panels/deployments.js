// Panel: recent deployments, break-glass rows highlighted with who and why.
import { $, empty, h, render } from '../dom.js';
import { badge, fmtDuration, time, toneOf, who } from '../format.js';
import { state } from '../state.js';

export function renderDeployments() {
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
