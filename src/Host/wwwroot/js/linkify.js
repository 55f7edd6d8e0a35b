// @ts-check
import { h } from './dom.js';
import { jsonBody } from './problems.js';

/**
 * Appends `text` to `parent`, turning every occurrence of a server-vouched ref into an inline <details> that loads
 * the file on first open. Walks left to right; where refs overlap at one position the longest wins. Only text nodes
 * are created from `text`: nothing an agent writes is ever parsed as HTML.
 */
export function appendLinkified(parent, text, refs) {
  text = text ?? '';
  const tokens = [...new Set((refs ?? []).filter(r => typeof r === 'string' && r.length > 0))]
    .sort((a, b) => b.length - a.length);
  let plainStart = 0;
  let i = 0;
  while (i < text.length) {
    const match = tokens.length ? tokens.find(t => text.startsWith(t, i)) : undefined;
    if (match === undefined) { i++; continue; }
    if (i > plainStart) parent.append(document.createTextNode(text.slice(plainStart, i)));
    parent.append(fileRef(match));
    i += match.length;
    plainStart = i;
  }
  if (plainStart < text.length) parent.append(document.createTextNode(text.slice(plainStart)));
  return parent;
}

function fileRef(path) {
  const body = h('pre', { class: 'ref-body' }, 'loading…');
  const details = h('details', { class: 'ref' }, h('summary', {}, path), body);
  let loaded = false;
  details.addEventListener('toggle', async () => {
    if (!details.open || loaded) return;
    loaded = true;
    try {
      const response = await fetch('/api/state-file?path=' + encodeURIComponent(path));
      const type = response.headers.get('content-type') ?? '';
      if (!response.ok) {
        const problem = await jsonBody(response);
        body.textContent = `(${response.status}) ${problem?.detail ?? 'the file could not be read'}`;
        body.classList.add('error');
        loaded = false; // let the operator try again
        return;
      }
      if (type.startsWith('image/')) {
        const url = URL.createObjectURL(await response.blob());
        body.replaceChildren(h('img', { src: url, alt: path, style: 'max-width:100%' }));
      } else if (type.startsWith('text/') || type.includes('json')) {
        body.textContent = await response.text();
      } else {
        body.textContent = `(${type}, ${response.headers.get('content-length') ?? '?'} bytes)`;
      }
    } catch (error) {
      body.textContent = `could not load: ${error.message}`;
      loaded = false;
    }
  });
  return details;
}
