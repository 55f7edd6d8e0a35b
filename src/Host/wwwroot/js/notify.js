// @ts-check
import { store } from './store.js';

// The browser's own notifications (the Notification API) while the dashboard is open in a background tab: a question to
// the operator, an approval asked for, an agent paused by a rule or held by a budget or a provider limit, an agent gone
// failed, the hive halted. Only after the operator allowed them ("Notify me", which asks the browser), only while the page
// is hidden (a visible page shows it all already), and only for events that arrive over the stream (the snapshot is what
// was there before). Each item has a tag, so the same item never stacks; a click brings the page forward. "Notifications
// on" turns them off for this browser again (kept in localStorage), without touching the browser's permission.

const OffKey = 'hive.notifications';
const Body = 200; // characters of a question or a reason in the notification's body

const supported = () => 'Notification' in window;
const wanted = () => localStorage.getItem(OffKey) !== 'off';
const clip = text => (text ?? '').length > Body ? `${text.slice(0, Body - 1)}…` : (text ?? '');

let control = null;

/** The header's "Notify me" button: asks the browser once; afterwards turns them off and on for this browser. */
export function wireNotifications(button) {
  control = button;
  if (!button) return;
  if (!supported()) { button.hidden = true; return; }
  button.addEventListener('click', async () => {
    if (Notification.permission === 'default') {
      localStorage.removeItem(OffKey);
      await Notification.requestPermission();
    } else if (Notification.permission === 'granted') {
      if (wanted()) localStorage.setItem(OffKey, 'off');
      else localStorage.removeItem(OffKey);
    }
    showControl();
  });
  showControl();
}

function showControl() {
  if (!control) return;
  const permission = Notification.permission;
  const on = permission === 'granted' && wanted();
  control.hidden = false;
  control.dataset.permission = permission;
  control.setAttribute('aria-pressed', String(on));
  control.disabled = permission === 'denied';
  control.textContent = permission === 'denied' ? 'Notifications blocked' : on ? 'Notifications on' : 'Notify me';
  control.title = permission === 'denied'
    ? 'this browser blocks notifications from this page: allow them in the site settings'
    : on ? 'a question, an approval, a held or failed agent or a halt raises a notification while this tab is in the background (click to turn off)'
      : 'raise a browser notification for what needs you while this tab is in the background';
}

/** Called with each event before the store applies it (so the store still says what was before). */
export function notice(type, e) {
  try {
    const note = describe(type, e);
    if (!note || !supported() || Notification.permission !== 'granted' || !wanted()) return;
    if (document.visibilityState !== 'hidden') return;
    const notification = new Notification(note.title, { body: note.body, tag: note.tag });
    notification.onclick = () => { window.focus(); notification.close(); };
  } catch {
    // A notification the browser would not raise must never stop the stream's events from being applied.
  }
}

const HeldBy = { budget: 'over budget', quota: 'at its provider limit' };

/** What an event says that needs the operator, as a notification: {title, body, tag}, or null. */
function describe(type, e) {
  switch (type) {
    case 'question_added':
      return e.target == null ? { title: `Question from ${e.asker}`, body: clip(e.question), tag: `question:${e.id}` } : null;
    case 'approval_added': {
      const a = e.approval;
      if (a?.status !== 'pending') return null;
      const what = a.kind === 'spawn' ? `new agent ${a.agent}` : a.kind === 'destroy' ? `destroying ${a.agent}`
        : a.kind === 'config_commit' ? `configuration change for ${a.agent}` : `${a.kind} of ${a.agent}`;
      return { title: `Approval asked: ${what}`, body: `asked by ${a.requester}`, tag: `approval:${a.id}` };
    }
    case 'container_state_changed': {
      const row = e.agent;
      const before = store.agents.get(row.name);
      if (row.state === 'failed' && before?.state !== 'failed')
        return { title: `${row.name} failed`, body: `${exited(row.last_exit)}it is not restarted: start it by hand`, tag: `failed:${row.name}` };
      const reason = row.held?.reason;
      if (HeldBy[reason] && before?.held?.reason !== reason) return held(row.name, reason);
      return null;
    }
    case 'turn_held':
      return HeldBy[e.reason] && store.agents.get(e.agent)?.held?.reason !== e.reason ? held(e.agent, e.reason) : null;
    case 'agent_paused':
      return e.by !== 'operator' ? { title: `${e.agent} paused by ${e.by}`, body: 'no turn is granted until you resume it', tag: `paused:${e.agent}` } : null;
    case 'hive_halted':
      return { title: `Hive halted by ${e.by}`, body: clip(e.reason ?? 'no turn is granted until you resume'), tag: `halted:${e.since}` };
    default:
      return null;
  }
}

const held = (agent, reason) => ({ title: `${agent} held: ${HeldBy[reason]}`, body: 'its next turn waits for you', tag: `held:${agent}:${reason}` });

/** "exit code 1; ", "signal 9; " or nothing: how a failed agent's last process ended. */
export const exited = exit => !exit ? '' : exit.signal != null ? `ended by signal ${exit.signal}; ` : `exit code ${exit.code}; `;
