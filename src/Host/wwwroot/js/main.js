// @ts-check
import { follow } from './live.js';
import { notice, wireNotifications } from './notify.js';
import { render, renderAll, loadOlder, refreshTimes, refreshDeadlines, wireFlowFilter, tickGovernance, wireGovernance, wireBoard } from './render.js';
import { act } from './actions.js';
import { wireSpawnForm } from './swarm.js';
import { wireMeta } from './meta.js';
import { wireSecretsForm } from './secrets.js';
import { wireSearch } from './search.js';
import { announceSignedOut, onSignedOutElsewhere } from './signin.js';

// The snapshot, then the stream (live.js, shared with /needs-you); notify.js raises the browser's notifications.
const connection = document.getElementById('connection');
const { start } = follow({
  loaded: renderAll,
  changed: sections => { for (const section of sections) render(section); },
  heard: notice,
  connection: setConnection,
});

function setConnection(state) {
  connection.dataset.state = state;
  connection.textContent = state === 'live' ? '● live' : state === 'reconnecting' ? '○ reconnecting…'
    : state === 'signed-out' ? '○ signed out' : state;
  const signedOut = state === 'signed-out';
  signOut.hidden = signedOut || state === 'connecting';
  if (signedOut) {
    // Nothing of the hive shows while signed out: not even how much waits.
    document.getElementById('waiting').hidden = true;
    document.title = 'Hive';
  }
}

// Sign out: the host answers with an expired cookie, and the page starts over at the sign-in screen (other tabs too).
const signOut = document.getElementById('sign-out');
signOut.addEventListener('click', async () => {
  if (await act(signOut, 'signing out…', { method: 'POST', url: '/api/sign-out' }, 'signed out')) {
    announceSignedOut();
    await start();
  }
});
onSignedOutElsewhere(() => { if (connection.dataset.state !== 'signed-out') start(); });

document.getElementById('send-form').addEventListener('submit', async event => {
  event.preventDefault();
  const to = /** @type {HTMLSelectElement} */ (document.getElementById('send-to')).value;
  const body = /** @type {HTMLTextAreaElement} */ (document.getElementById('send-body'));
  if (!body.value.trim()) return;
  if (await act(document.getElementById('send-button'), 'sending…', { method: 'POST', url: '/api/messages', body: { to, body: body.value } }, `sent to ${to}`))
    body.value = '';
});
wireSpawnForm();
wireMeta();
wireSecretsForm();
wireSearch();
wireFlowFilter();
wireGovernance();
wireBoard();
wireNotifications(document.getElementById('notify'));
document.getElementById('load-older').addEventListener('click', event => loadOlder(event.currentTarget));
setInterval(refreshTimes, 30_000);
setInterval(() => { refreshDeadlines(); tickGovernance(); }, 1_000);

await start();
