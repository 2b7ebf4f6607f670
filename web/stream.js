// The event stream: SSE read with fetch (an EventSource cannot send the token in a header), resumed
// from the last sequence number seen after a dropped connection.
import { panelsFor } from './events.js';
import { charts } from './loaders.js';
import { api } from './api.js';
import { findLeader, rememberControllers } from './leader.js';
import { announce, setConn } from './notify.js';
import { pushFeed } from './panels/feed.js';
import { scheduleRefresh } from './refresh.js';
import { signOut } from './session.js';
import { state } from './state.js';

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

export async function stream(signal) {
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
      // who else serves this store, for when this controller goes away
      void api('/v1/health').then(rememberControllers, () => undefined);
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
    if (signal.aborted) return;
    // the controller went away or stepped down: another one may lead now
    if (await findLeader()) return;
    setConn('down', `reconnecting in ${Math.round(backoff / 1000)} s`);
    await new Promise((r) => setTimeout(r, backoff));
    backoff = Math.min(backoff * 2, 15_000);
  }
}
