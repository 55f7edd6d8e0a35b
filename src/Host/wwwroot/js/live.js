// @ts-check
import { store, load, apply } from './store.js';
import { SignedOut, untilSignedIn, announceSignedIn } from './signin.js';

const FirstRetryMs = 1000;
const LastRetryMs = 30000;

// The page's one way of following the hive, shared by the dashboard and /needs-you: one GET /api/state per page session
// (again only when the server says `resync`), then everything rides the stream (/api/events), applied to the store.
//   loaded()                 after each snapshot: draw everything
//   changed(sections)        after an event was applied: the sections it changed (each once)
//   heard(type, event)       before an event is applied (the store still holds what was before it): notifications
//   connection(state)        'live', 'reconnecting', 'signed-out', or a sentence when the hive did not answer (the
//                            page tries again by itself, 1 s after the first failure, doubling to 30 s)
//   agent, listen            an agent's page: its stream also carries that agent's own events (its transcript), which
//                            go to listen[type](data) rather than to the store
export function follow({ loaded, changed, heard, connection, agent = null, listen = {} }) {
  let events = null;
  let retry = null;
  let retryMs = FirstRetryMs;

  async function coldLoad() {
    const response = await fetch('/api/state');
    // 429 here is the wrong-sign-in limit answering a stale cookie: signed out as well, not an error to show.
    if (response.status === 401 || response.status === 429) throw new SignedOut();
    if (!response.ok) throw new Error(`/api/state answered ${response.status}`);
    load(await response.json());
    loaded();
  }

  function subscribe() {
    events?.close();
    // EventSource cannot send Last-Event-ID on its first connect: the snapshot's seq goes in the query. On its own
    // reconnects the browser sends the header with the last id it saw, and the server prefers that.
    events = new EventSource(`/api/events?last_event_id=${store.seq}${agent ? `&agent=${encodeURIComponent(agent)}` : ''}`);
    events.addEventListener('open', () => connection('live'));
    events.addEventListener('error', () => {
      connection('reconnecting');
      // The browser gives up on a stream the host refused (401 after a new token, or another error status): start
      // over from the snapshot, which shows the sign-in screen when that is what is missing.
      if (events.readyState === EventSource.CLOSED) startLater();
    });
    for (const [type, handler] of Object.entries(apply)) {
      events.addEventListener(type, event => {
        const data = JSON.parse(event.data);
        heard?.(type, data);
        changed(new Set(handler(data)));
      });
    }
    for (const [type, handler] of Object.entries(listen)) events.addEventListener(type, event => handler(JSON.parse(event.data)));
    events.addEventListener('resync', async () => {
      // The server no longer has the events we missed: reload the state once and follow from its seq.
      events.close();
      connection('reconnecting');
      await start();
    });
  }

  async function start() {
    clearTimeout(retry);
    events?.close();
    try {
      try {
        await coldLoad();
      } catch (error) {
        if (!(error instanceof SignedOut)) throw error;
        connection('signed-out');
        await untilSignedIn(coldLoad);
      }
      announceSignedIn();
      retryMs = FirstRetryMs;
      subscribe();
    } catch (error) {
      // A refused or dropped request (a restart, a flaky network, a host too busy to read it in time) is not the end:
      // the page keeps trying, so it never has to be reloaded by hand.
      connection(`the hive did not answer: ${error.message} (trying again in ${Math.round(retryMs / 1000)} s)`);
      startLater();
      retryMs = Math.min(retryMs * 2, LastRetryMs);
    }
  }

  // The one pending start over: a later start (a resync, a sign-out elsewhere) cancels it.
  function startLater() {
    clearTimeout(retry);
    retry = setTimeout(start, retryMs);
  }

  return { start };
}
