// Greenlight dashboard: a projection of the controller's v1 API in one page. No framework, no build,
// no external request. The event stream (SSE over fetch, so the token travels in a header and
// never in a URL) tells which panels to reload; a slow poll only refreshes router counters, which
// change without events. Each panel is one module under panels/.
import { AuthError, api } from './api.js';
import { $ } from './dom.js';
import { fmtAgo } from './format.js';
import { approvals, drills, loadDeployments, loadIncidents, loadStatus } from './loaders.js';
import { setConn, toast } from './notify.js';
import { pushFeed, renderFeed } from './panels/feed.js';
import { reportError, scheduleRefresh } from './refresh.js';
import { rememberControllers } from './leader.js';
import { signOut } from './session.js';
import { APPROVAL_LINK_KEY, STATUS_POLL_MS, TOKEN_KEY, state } from './state.js';
import { stream } from './stream.js';

function tokenFromFragment() {
  const hash = location.hash.startsWith('#') ? location.hash.slice(1) : '';
  const params = new URLSearchParams(hash);
  const t = params.get('token');
  // a signed approval link led here: kept for the approvals panel until the person confirms it
  // (signed in with their own token first: the link alone approves nothing)
  if (params.get('approve')) {
    const link = { deploymentId: params.get('approve'), environment: params.get('environment') ?? '', expires: params.get('expires') ?? '', sig: params.get('sig') ?? '' };
    sessionStorage.setItem(APPROVAL_LINK_KEY, JSON.stringify(link));
  }
  if (hash) {
    // The token leaves the address bar (and history) at once; it stays in this tab's session storage.
    history.replaceState(null, '', location.pathname + location.search);
  }
  return t ? t.trim() : '';
}

function signIn(token) {
  state.token = token;
  sessionStorage.setItem(TOKEN_KEY, token);
  $('signin').hidden = true;
  $('main').hidden = false;
  $('sign-out').hidden = false;
  void start();
}

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
    void api('/v1/health').then(rememberControllers, () => undefined);
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
