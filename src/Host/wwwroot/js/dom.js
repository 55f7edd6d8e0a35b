// @ts-check
// Building DOM without ever parsing agent text as HTML: strings become text nodes, always.

/**
 * A form read by its controls' names (form.elements.title): their kinds are the page's HTML, which the checker cannot see.
 * @typedef {HTMLFormElement & { elements: HTMLFormControlsCollection & Record<string, any> }} Form
 */

/** h('li', {class: 'x', dataset: {id: 1}, onclick: f}, 'text', child) */
export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') node.className = value;
    else if (key === 'dataset') Object.assign(node.dataset, value);
    else if (key.startsWith('on') && typeof value === 'function') node.addEventListener(key.slice(2), value);
    else if (key in node && typeof value !== 'string') node[key] = value;
    else node.setAttribute(key, value === true ? '' : String(value));
  }
  append(node, ...children);
  return node;
}

export function append(node, ...children) {
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/**
 * Keyed list rendering: reuses the node of each key (so open <details>, typed answers and focus survive updates),
 * creates nodes for new keys, removes the rest, and keeps the order of `items`. `update` may patch the node in place
 * or return a new node to take its place.
 */
export function renderList(container, items, keyOf, create, update) {
  const existing = new Map([...container.children].map(n => [n.dataset.key, n]));
  let previous = null;
  for (const item of items) {
    const key = String(keyOf(item));
    let node = existing.get(key);
    if (node) {
      existing.delete(key);
      const fresh = update?.(node, item);
      if (fresh instanceof Node && fresh !== node) {
        /** @type {HTMLElement} */ (fresh).dataset.key = key;
        node.replaceWith(fresh);
        node = fresh;
      }
    } else {
      node = create(item);
      node.dataset.key = key;
    }
    const expected = previous ? previous.nextSibling : container.firstChild;
    if (node !== expected) container.insertBefore(node, expected);
    previous = node;
  }
  for (const stale of existing.values()) stale.remove();
}

/** "3m ago", "in 2h", "just now": relative to now. */
export function relative(iso, now = Date.now()) {
  if (!iso) return '';
  const seconds = Math.round((new Date(iso).getTime() - now) / 1000);
  const abs = Math.abs(seconds);
  const text = abs < 5 ? null
    : abs < 90 ? `${abs}s`
    : abs < 5400 ? `${Math.round(abs / 60)}m`
    : abs < 172800 ? `${Math.round(abs / 3600)}h`
    : `${Math.round(abs / 86400)}d`;
  if (text === null) return 'just now';
  return seconds > 0 ? `in ${text}` : `${text} ago`;
}

/** 0 B, 812 B, 4.0 KiB, 12 KiB, 3.4 MiB ... */
export function bytes(n) {
  if (!(n >= 0)) return '?';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit++; }
  return unit === 0 ? `${value} B` : `${value < 10 ? value.toFixed(1) : Math.round(value)} ${units[unit]}`;
}

/** 850 ms, 1.2 s: a duration in milliseconds; – when there is none. */
export function duration(ms) {
  return ms == null ? '–' : ms >= 1000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}

export function clock(iso) {
  return iso ? new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' }) : '';
}

// The snapshot is bounded: say how many a truncated list leaves out (the API pages through all of them).
export function more(node, hidden, noun) {
  node.hidden = hidden <= 0;
  node.textContent = hidden > 0 ? `… and ${hidden} more ${noun}${hidden === 1 ? '' : 's'} not shown` : '';
}
