// @ts-check
// /agents/{name}/terminal: one terminal filling the page.
import { openTerminal } from './terminal.js';

const match = /^\/agents\/([^/]+)\/terminal$/.exec(location.pathname);
const name = match ? decodeURIComponent(match[1]) : '';
const state = document.getElementById('terminal-state');
document.getElementById('terminal-agent').textContent = `${name} · terminal`;
document.title = `${name} · terminal · Hive`;

const show = (key, text) => {
  state.dataset.state = key === 'open' ? 'live' : 'reconnecting';
  state.textContent = text;
  state.classList.toggle('terminal-ended', key !== 'open');
};

openTerminal(document.getElementById('terminal'), name, {
  onState(kind, why) {
    if (kind === 'open') show('open', 'connected');
    else if (kind === 'closed') show('closed', `closed: ${why}`);
    else show('refused', why);
  },
});
