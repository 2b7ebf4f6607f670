// The approvals panel, as its own module: deployments waiting for approval in an environment, who
// asked, how many approvals are in, and Approve / Reject buttons for whoever is signed in (the
// requester sees that approvals must come from someone else; the controller refuses it anyway).
// Every string from the log is set as text (h() never parses HTML).

/**
 * @param {{ api: (path: string, opts?: object) => Promise<any>, h: Function, render: Function, empty: Function, time: Function, $: (id: string) => HTMLElement }} ui
 */
export function createApprovalsPanel(ui) {
  const { api, h, render, empty, time, $ } = ui;
  let me = null;
  let message = '';

  async function act(id, what) {
    try {
      if (what === 'approve') await api(`/v1/deployments/${encodeURIComponent(id)}/approve`, { method: 'POST', body: {} });
      else {
        const reason = prompt('Why is it rejected? (kept in the record)');
        if (!reason) return;
        await api(`/v1/deployments/${encodeURIComponent(id)}/reject`, { method: 'POST', body: { reason } });
      }
      message = '';
    } catch (err) {
      message = err instanceof Error ? err.message : String(err);
    }
    await load();
  }

  /** the signed approval link this page was opened with (app.js keeps it from the fragment) */
  function pendingLink() {
    try {
      const l = JSON.parse(sessionStorage.getItem('greenlight.approvalLink') ?? 'null');
      return l && typeof l.deploymentId === 'string' ? l : null;
    } catch {
      return null;
    }
  }

  async function approveByLink(link) {
    try {
      await api('/v1/approvals/link', { method: 'POST', body: link });
      message = `Approved ${link.deploymentId} in ${link.environment} (signed link), as ${me?.actor ?? 'you'}.`;
    } catch (err) {
      message = `The approval link was refused: ${err instanceof Error ? err.message : String(err)}`;
    }
    sessionStorage.removeItem('greenlight.approvalLink');
    await load();
  }

  function linkBox(link, deployments) {
    const d = deployments.find((x) => x.id === link.deploymentId);
    return h(
      'div',
      { class: 'approval-link', role: 'group', 'aria-label': 'Signed approval link' },
      h('p', {}, 'A signed approval link: approve ', h('strong', {}, d ? `${d.service}@${d.version}` : link.deploymentId), ` into ${link.environment} as ${me?.actor ?? 'the signed-in person'}?`),
      h('div', { class: 'actions' }, h('button', { type: 'button', 'data-key': 'approve-link', onclick: () => approveByLink(link) }, 'Approve (signed link)'), ' ', h('button', { type: 'button', class: 'secondary', onclick: () => (sessionStorage.removeItem('greenlight.approvalLink'), load()) }, 'Dismiss')),
    );
  }

  async function load() {
    if (!me) me = await api('/v1/whoami').catch(() => null);
    const { deployments } = await api('/v1/deployments');
    const waiting = deployments.filter((d) => d.state === 'running' && (d.approvals ?? []).some((a) => a.state === 'waiting'));
    const el = $('approvals');
    const link = pendingLink();
    const rows = waiting.map((d) => {
      const a = d.approvals.filter((x) => x.state === 'waiting').at(-1);
      const own = me && me.actor === a.requester;
      return h(
        'li',
        { class: 'approval', dataset: { deployment: d.id } },
        h('div', {}, h('strong', {}, `${d.service}@${d.version}`), ` into ${a.environment}`, a.breakGlass ? h('span', { class: 'badge badge-breakglass' }, 'break-glass') : null),
        h('div', { class: 'muted small' }, `requested by ${a.requester} · ${a.approvedBy.length} of ${a.required} approval(s)${a.approvedBy.length ? ` (${a.approvedBy.join(', ')})` : ''} · expires `, time(a.expiresAt, new Date(a.expiresAt).toLocaleTimeString(undefined, { hour12: false }))),
        own
          ? h('p', { class: 'muted small' }, 'You requested it: approvals must come from someone else.')
          : h('div', { class: 'actions' }, h('button', { type: 'button', 'data-key': `approve-${d.id}`, onclick: () => act(d.id, 'approve') }, 'Approve'), ' ', h('button', { type: 'button', class: 'secondary', onclick: () => act(d.id, 'reject') }, 'Reject')),
      );
    });
    render(el, message ? h('p', { class: 'warnline', role: 'alert' }, message) : null, link ? linkBox(link, deployments) : null, rows.length ? h('ul', { class: 'approvals' }, rows) : empty('No deployment is waiting for approval.'));
  }

  return { load };
}
