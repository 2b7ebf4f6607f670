// Panel: the live event feed.
import { $, h, render } from '../dom.js';
import { NOISY, categoryOf, describe } from '../events.js';
import { fmtDateTime, fmtTime, who } from '../format.js';
import { FEED_MAX, state } from '../state.js';

export function renderFeed() {
  const items = state.feed.filter((e) => state.showNoisy || !NOISY.has(e.type)).slice(0, 100);
  if (!items.length) return render($('feed'), h('li', { class: 'empty' }, 'Waiting for events…'));
  render(
    $('feed'),
    items.map((e) =>
      h(
        'li',
        { class: `ev ev-${categoryOf(e.type)}`, dataset: { type: e.type, seq: String(e.seq) } },
        h('time', { datetime: new Date(e.time).toISOString(), title: fmtDateTime(e.time) }, fmtTime(e.time)),
        h('span', { class: 'ev-type' }, e.type),
        h('span', { class: 'ev-actor' }, who(e.actor)),
        h('span', { class: 'ev-text' }, describe(e)),
      ),
    ),
  );
}

let feedTimer;
export function pushFeed(events) {
  for (const e of events) state.feed.unshift(e);
  state.feed.length = Math.min(state.feed.length, FEED_MAX);
  // a burst of events re-renders the feed once
  if (!feedTimer) feedTimer = setTimeout(() => ((feedTimer = undefined), renderFeed()), 100);
}
