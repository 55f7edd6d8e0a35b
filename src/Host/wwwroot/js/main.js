import { store, load, apply } from './store.js';
import { render, renderAll, loadOlder, refreshTimes, refreshDeadlines, wireFlowFilter, tickGovernance, wireGovernance } from './render.js';
import { act } from './actions.js';
import { wireSpawnForm } from './swarm.js';
import { wireMeta } from './meta.js';
import { wireSecretsForm } from './secrets.js';
import { SignedOut, untilSignedIn, announceSignedIn, announceSignedOut, onSignedOutElsewhere } from './signin.js';

// One GET /api/state per page session (again only when the server says `resync`); everything else rides the stream.
const connection = document.getElementById('connection');
let events = null;

async function coldLoad() {
  const response = await fetch('/api/state');
  // 429 here is the wrong-sign-in limit answering a stale cookie: signed out as well, not an error to show.
  if (response.status === 401 || response.status === 429) throw new SignedOut();
  if (!response.ok) throw new Error(`/api/state answered ${response.status}`);
  load(await response.json());
  renderAll();
}

function subscribe() {
  events?.close();
  // EventSource cannot send Last-Event-ID on its first connect: the snapshot's seq goes in the query. On its own
  // reconnects the browser sends the header with the last id it saw, and the server prefers that.
  events = new EventSource(`/api/events?last_event_id=${store.seq}`);
  events.addEventListener('open', () => setConnection('live'));
  events.addEventListener('error', () => {
    setConnection('reconnecting');
    // The browser gives up on a stream the host refused (401 after a new token, or another error status): start
    // over from the snapshot, which shows the sign-in screen when that is what is missing.
    if (events.readyState === EventSource.CLOSED) setTimeout(start, 1000);
  });
  for (const [type, handler] of Object.entries(apply)) {
    events.addEventListener(type, event => {
      const changed = handler(JSON.parse(event.data));
      for (const section of new Set(changed)) render(section);
    });
  }
  events.addEventListener('resync', async () => {
    // The server no longer has the events we missed: reload the state once and follow from its seq.
    events.close();
    setConnection('reconnecting');
    await start();
  });
}

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

async function start() {
  events?.close();
  try {
    try {
      await coldLoad();
    } catch (error) {
      if (!(error instanceof SignedOut)) throw error;
      setConnection('signed-out');
      await untilSignedIn(coldLoad);
    }
    announceSignedIn();
    subscribe();
  } catch (error) {
    setConnection(`the hive did not answer: ${error.message}`);
  }
}

document.getElementById('send-form').addEventListener('submit', async event => {
  event.preventDefault();
  const to = document.getElementById('send-to').value;
  const body = document.getElementById('send-body');
  if (!body.value.trim()) return;
  if (await act(document.getElementById('send-button'), 'sending…', { method: 'POST', url: '/api/messages', body: { to, body: body.value } }, `sent to ${to}`))
    body.value = '';
});
wireSpawnForm();
wireMeta();
wireSecretsForm();
wireFlowFilter();
wireGovernance();
document.getElementById('load-older').addEventListener('click', event => loadOlder(event.currentTarget));
setInterval(refreshTimes, 30_000);
setInterval(() => { refreshDeadlines(); tickGovernance(); }, 1_000);

await start();
