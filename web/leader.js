// Following the leader. With several controllers on one PostgreSQL store only one leads; the page
// may be open on one that is (or became) a standby, or whose machine went away. Two signals move
// it to the leader: a write refused with 503 NOT_LEADER names the leader, and a lost event stream
// makes the page ask every controller it knows (GET /v1/health, public and readable from any
// origin) who leads now. The page then opens the leader's dashboard with the token in the
// fragment, as `greenlight up` prints it (another origin has its own session storage).
import { setConn, toast } from './notify.js';
import { state } from './state.js';

/** the store's controllers, as the last /v1/health of this page's controller listed them */
let known = [];

export function rememberControllers(health) {
  if (Array.isArray(health?.controllers)) known = health.controllers.filter((a) => typeof a === 'string' && /^https?:\/\//.test(a));
}

function originOf(address) {
  try {
    return new URL(address).origin;
  } catch {
    return '';
  }
}

/** Opens the leader's dashboard; false when the address is this page's own or not a URL. */
export function followLeader(address, why) {
  const origin = originOf(address);
  if (!origin || origin === location.origin || !state.token) return false;
  setConn('connecting', `following the leader to ${origin}`);
  toast(`${why}: opening the dashboard of the leader at ${origin}`, 'ok');
  state.streamAbort?.abort();
  location.assign(`${origin}/#token=${encodeURIComponent(state.token)}`);
  return true;
}

async function healthOf(origin) {
  try {
    const res = await fetch(`${origin}/v1/health`, { cache: 'no-store', signal: AbortSignal.timeout(2000) });
    return res.ok ? await res.json() : undefined;
  } catch {
    return undefined;
  }
}

/** After the stream was lost: asks this controller, then the others, who leads; follows it. */
export async function findLeader() {
  const candidates = [location.origin, ...known.map(originOf).filter((o) => o && o !== location.origin)];
  for (const origin of candidates) {
    const h = await healthOf(origin);
    if (!h) continue;
    if (h.role === 'leader') return origin === location.origin ? false : followLeader(origin, 'This controller went away');
    if (h.leader && followLeader(h.leader, origin === location.origin ? 'This controller is a standby now' : 'This controller went away')) return true;
  }
  return false;
}
