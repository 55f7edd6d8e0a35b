import { store, load, apply } from './store.js';
import { render, renderAll, loadOlder, refreshTimes } from './render.js';
import { act } from './actions.js';

// One GET /api/state per page session (again only when the server says `resync`); everything else rides the stream.
const connection = document.getElementById('connection');
let events = null;

async function coldLoad() {
  const response = await fetch('/api/state');
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
  events.addEventListener('error', () => setConnection('reconnecting'));
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
    await coldLoad();
    subscribe();
  });
}

function setConnection(state) {
  connection.dataset.state = state;
  connection.textContent = state === 'live' ? '● live' : state === 'reconnecting' ? '○ reconnecting…' : state;
}

document.getElementById('send-form').addEventListener('submit', async event => {
  event.preventDefault();
  const to = document.getElementById('send-to').value;
  const body = document.getElementById('send-body');
  if (!body.value.trim()) return;
  if (await act(document.getElementById('send-button'), 'sending…', { method: 'POST', url: '/api/messages', body: { to, body: body.value } }, `sent to ${to}`))
    body.value = '';
});
document.getElementById('load-older').addEventListener('click', event => loadOlder(event.currentTarget));
setInterval(refreshTimes, 30_000);

try {
  await coldLoad();
  subscribe();
} catch (error) {
  setConnection(`the hive did not answer: ${error.message}`);
}
