// The controller's v1 API, with the token in a header (never in a URL).
import { followLeader } from './leader.js';
import { signOut } from './session.js';
import { state } from './state.js';

export class AuthError extends Error {}

export async function api(path, opts = {}) {
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
    // a standby refuses writes and names the leader: the page moves there (the action is not
    // replayed: the person sees the leader's current state and decides again)
    if (e.code === 'NOT_LEADER' && typeof e.data?.leader === 'string' && followLeader(e.data.leader, 'This controller is a standby')) throw new Error(e.message ?? 'not the leader');
    throw new Error([e.message ?? `HTTP ${res.status}`, e.hint].filter(Boolean).join(' — '));
  }
  return body;
}
