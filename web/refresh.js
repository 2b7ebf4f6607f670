// Refresh scheduling: a burst of events costs one round of requests, each panel at most once a
// second. The loaders (loaders.js) register themselves by name, so panels can ask for a refresh
// without importing them.
import { AuthError } from './api.js';
import { toast } from './notify.js';
import { MIN_REFRESH_GAP_MS, state } from './state.js';

/** name -> async function that reloads it; filled by loaders.js */
const loaders = {};

export function registerLoader(name, load) {
  loaders[name] = load;
}

const refresh = {
  pending: new Set(),
  timer: undefined,
  running: false,
  lastRun: new Map(),
};

/** Coalesces the refreshes asked for by a burst of events into one round of requests. */
export function scheduleRefresh(...what) {
  for (const w of what) refresh.pending.add(w);
  if (refresh.timer || refresh.running) return;
  refresh.timer = setTimeout(runRefresh, 250);
}

async function runRefresh() {
  refresh.timer = undefined;
  if (!state.token) return;
  refresh.running = true;
  const now = Date.now();
  const due = [];
  let wait = 0;
  for (const w of refresh.pending) {
    const gap = now - (refresh.lastRun.get(w) ?? 0);
    if (gap >= MIN_REFRESH_GAP_MS) due.push(w);
    else wait = Math.max(wait, MIN_REFRESH_GAP_MS - gap);
  }
  for (const w of due) {
    refresh.pending.delete(w);
    refresh.lastRun.set(w, now);
  }
  try {
    await Promise.all(due.map((w) => loaders[w]().catch((err) => reportError(w, err))));
  } finally {
    refresh.running = false;
    if (refresh.pending.size) refresh.timer = setTimeout(runRefresh, Math.max(250, wait));
  }
}

/** A panel that could not load says so in a toast; a refused token has already signed out. */
export function reportError(what, err) {
  if (err instanceof AuthError) return;
  console.warn(`greenlight dashboard: ${what}:`, err);
  toast(`Could not load ${what}: ${err.message ?? err}`);
}
