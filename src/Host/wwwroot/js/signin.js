// @ts-check
// The sign-in screen: shown while the API answers 401, gone as soon as this browser is signed in (here, or in
// another tab that opened the sign-in link: that tab announces it, and this one also retries on focus and every few s).

const screen = document.getElementById('sign-in');
// Every page has the same sign-in screen: its markup lives here, once, and fills the page's empty #sign-in section.
screen.innerHTML = `
  <h2>◆ Sign in</h2>
  <p>Open the sign-in link the host printed when it started (on a terminal) or wrote to <code>&lt;DataDir&gt;/sign-in-link</code>: it looks like
    <code id="sign-in-example"></code> (behind a proxy, with this page's address in front of <code>/?token=</code>).
    This page carries on by itself once this browser is signed in.</p>
  <p class="error" id="sign-in-failed" hidden>That sign-in link is not valid for this hive (was the host given a new token?).</p>
  <form id="sign-in-form" autocomplete="off">
    <label for="sign-in-token">Or paste the token from <code>&lt;DataDir&gt;/operator-token</code> (<code>.hive/operator-token</code> by default)</label>
    <input id="sign-in-token" name="token" type="password" required>
    <button type="submit">Sign in</button>
  </form>`;
// The address this page was loaded from, not one written here: behind a proxy the host's own address is not the operator's.
document.getElementById('sign-in-example').textContent = `${location.origin}/?token=…`;
const dashboard = document.getElementById('dashboard');
const channel = 'BroadcastChannel' in window ? new BroadcastChannel('hive-sign-in') : null;
const RetryMs = 3000;

/** Thrown by a request the host answered with 401. */
export class SignedOut extends Error {
  constructor() { super('signed out'); }
}

/** Tells other tabs of this hive that this browser is signed in now. */
export function announceSignedIn() {
  channel?.postMessage('signed-in');
}

/** Tells other tabs that this browser signed out (their streams were opened with the cookie it no longer has). */
export function announceSignedOut() {
  channel?.postMessage('signed-out');
}

/** Runs `then` when another tab of this browser signs out. */
export function onSignedOutElsewhere(then) {
  channel?.addEventListener('message', event => { if (event.data === 'signed-out') then(); });
}

/**
 * Shows the sign-in screen and retries `attempt` until it no longer throws SignedOut; then hides the screen.
 * Any other error from `attempt` is passed on.
 */
export async function untilSignedIn(attempt) {
  screen.hidden = false;
  dashboard.hidden = true;
  document.getElementById('sign-in-failed').hidden = location.hash !== '#sign-in-failed';
  try {
    while (true) {
      await nextChance();
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof SignedOut)) throw error;
      }
    }
  } finally {
    screen.hidden = true;
    dashboard.hidden = false;
    if (location.hash === '#sign-in-failed') history.replaceState(null, '', location.pathname);
  }
}

function nextChance() {
  return new Promise(/** @param {(value?: void) => void} resolve */ resolve => {
    const done = () => {
      clearTimeout(timer);
      channel?.removeEventListener('message', done);
      window.removeEventListener('focus', done);
      resolve();
    };
    const timer = setTimeout(done, RetryMs);
    channel?.addEventListener('message', done);
    window.addEventListener('focus', done);
  });
}

// Pasting the token signs in the way the printed link does: the host sets the cookie and sends the browser back to the
// page it was pasted on (the dashboard, or /needs-you), without the token.
document.getElementById('sign-in-form').addEventListener('submit', event => {
  event.preventDefault();
  const token = /** @type {HTMLInputElement} */ (document.getElementById('sign-in-token')).value.trim();
  const page = location.pathname === '/needs-you' ? '/needs-you' : '/';
  if (token) location.replace(`${page}?token=${encodeURIComponent(token)}`);
});
