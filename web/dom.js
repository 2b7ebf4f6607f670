// Small DOM helpers shared by the panels.

export const $ = (id) => document.getElementById(id);

export function h(tag, props, ...kids) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'class') el.className = v;
    else if (k === 'text') el.textContent = v;
    else if (k === 'style') Object.assign(el.style, v);
    else if (k === 'dataset') Object.assign(el.dataset, v);
    else if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2), v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  for (const kid of kids.flat(Infinity)) {
    if (kid === undefined || kid === null || kid === false) continue;
    el.append(kid instanceof Node ? kid : String(kid));
  }
  return el;
}

/** Replaces a panel's content, keeping keyboard focus on the element with the same data-key. */
export function render(container, ...nodes) {
  const active = document.activeElement;
  const key = active && container.contains(active) ? active.dataset.key : undefined;
  container.replaceChildren(...nodes.flat(Infinity).filter(Boolean));
  container.removeAttribute('aria-busy');
  if (key) container.querySelector(`[data-key="${CSS.escape(key)}"]`)?.focus();
}

export function empty(text) {
  return h('p', { class: 'empty' }, text);
}

export function confirmDialog(title, text, verb) {
  const dlg = $('confirm');
  $('confirm-title').textContent = title;
  $('confirm-text').textContent = text;
  $('confirm-ok').textContent = verb;
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dlg.addEventListener(
      'close',
      () => {
        resolve(dlg.returnValue === 'ok');
        if (opener instanceof HTMLElement) {
          // the panel may have been re-rendered meanwhile: find the same control by its key
          const key = opener.dataset.key;
          (key ? document.querySelector(`[data-key="${CSS.escape(key)}"]`) : opener)?.focus();
        }
      },
      { once: true },
    );
    dlg.returnValue = 'cancel';
    dlg.showModal();
    $('confirm-cancel').focus();
  });
}
