// What the page tells the person outside the panels: toasts, screen-reader announcements, the
// connection indicator.
import { $ } from './dom.js';

let toastTimer;
export function toast(text, tone = 'bad') {
  const t = $('toast');
  t.textContent = text;
  t.className = `toast toast-${tone}`;
  t.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (t.hidden = true), 6000);
}

export function announce(text) {
  const a = $('announce');
  a.textContent = '';
  setTimeout(() => (a.textContent = text), 50);
}

export function setConn(kind, text) {
  const el = $('conn');
  el.dataset.state = kind;
  $('conn-text').textContent = text;
}
