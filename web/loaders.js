// The loaders: each fetches one part of the API into the state and re-renders the panels it feeds.
import { api } from './api.js';
import { createApprovalsPanel } from './approvals.js';
import { createChartsPanel } from './charts.js';
import { $, empty, h, render } from './dom.js';
import { createDrillsPanel } from './drills.js';
import { badge, fmtDuration, time } from './format.js';
import { renderDeployments } from './panels/deployments.js';
import { renderEnvironments } from './panels/environments.js';
import { loadIncidentDetail, renderIncidents } from './panels/incidents.js';
import { renderMonitoring } from './panels/monitoring.js';
import { renderRunning, runningDeployments } from './panels/running.js';
import { registerLoader } from './refresh.js';
import { state } from './state.js';

export async function loadStatus() {
  state.status = await api('/v1/status');
  const c = state.status.controller;
  $('controller-meta').textContent = c ? `${c.url} · pid ${c.pid} · ${c.config}` : '';
  renderEnvironments();
  renderMonitoring();
  renderRunning();
}

export async function loadDeployments() {
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

export async function loadIncidents() {
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

// the chart panel is its own module (web/charts.js); created on first use, once the page is shown
let chartsPanel;
export function charts() {
  chartsPanel ??= createChartsPanel({ container: $('charts'), api });
  return chartsPanel;
}

// panels that build themselves from the helpers they are given (web/drills.js, web/approvals.js)
export const drills = createDrillsPanel({ api, h, render, empty, badge, time, fmtDuration, $ });
export const approvals = createApprovalsPanel({ api, h, render, empty, time, $ });

registerLoader('status', loadStatus);
registerLoader('deployments', loadDeployments);
registerLoader('incidents', loadIncidents);
registerLoader('drills', drills.load);
registerLoader('approvals', approvals.load);
