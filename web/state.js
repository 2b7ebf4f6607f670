// What the page knows: the data of each panel, the event feed, the stream's position.

export const STATUS_POLL_MS = 10_000;
export const MIN_REFRESH_GAP_MS = 1_000;
export const FEED_MAX = 200;
export const TOKEN_KEY = 'greenlight.token';
/** a signed approval link the page was opened with, waiting for the signed-in person to confirm it */
export const APPROVAL_LINK_KEY = 'greenlight.approvalLink';

export const state = {
  token: '',
  status: null,
  deployments: [],
  incidents: [],
  /** incident id -> report (timeline, impact, durations ...) */
  incidentDetails: new Map(),
  /** incident id -> markdown, for the postmortems shown, and its download address */
  postmortems: new Map(),
  postmortemUrls: new Map(),
  /** incident ids whose details are open; the first active incident opens by itself once */
  expanded: new Set(),
  autoExpanded: new Set(),
  /** deployment id -> its events (newest first), for the running deployment panel */
  deploymentEvents: new Map(),
  feed: [],
  lastSeq: 0,
  showNoisy: false,
  streamAbort: null,
  connected: false,
};
