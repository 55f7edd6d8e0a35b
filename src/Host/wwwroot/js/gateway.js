// @ts-check
import { h, renderList, clock } from './dom.js';
import { store } from './store.js';

// The model gateway on the dashboard: each provider in the governance section (in flight of its slots, waiting, the
// limits it last named: `gateway` in /api/state, then `provider_limits`), and an agent's failing model calls on its row
// and its page ("model calls failing: 6 in a row, connection refused to api.anthropic.com, since 10:42": its row's
// `model_calls_failing`, from `model_calls_failing` and `model_call`). Everything is put in as text, never as HTML.

const $ = id => document.getElementById(id);

/** 950, 18.5k, 2.1M. */
export function amount(n) {
  if (n == null) return '–';
  return n < 1000 ? String(n) : n < 1e6 ? `${+(n / 1e3).toFixed(1)}k` : n < 1e9 ? `${+(n / 1e6).toFixed(1)}M` : `${+(n / 1e9).toFixed(1)}G`;
}

/** The sentence of a failing streak, as the row and the agent's page show it. */
export function failingText(f) {
  return `model calls failing: ${f.count} in a row, ${f.last_error}, since ${clock(f.since)}`;
}

/** The row's chip (nothing when its calls do not fail). */
export function failingChip(a) {
  const f = a.model_calls_failing;
  if (!f) return null;
  return h('span', { class: 'badge model-calls-failing', role: 'status', dataset: { count: f.count, provider: f.provider },
    title: `its model calls to ${f.provider} fail since ${f.since}: ${f.last_error}` }, failingText(f));
}

/** For an agent with a provider chain that moved off its first provider: where its turns run and why. */
export function providerChip(a) {
  const on = a.provider_now;
  if (!on || !on.reason || on.provider === a.provider) return null;
  return h('span', { class: 'badge provider-now', role: 'status', dataset: { provider: on.provider },
    title: `since ${on.since}: ${on.reason}` }, `on ${on.provider}`);
}

function limitsText(l) {
  if (!l) return 'no limits named yet';
  const parts = [];
  if (l.requests_remaining != null) parts.push(`${amount(l.requests_remaining)} requests left${l.requests_reset ? ` (resets ${clock(l.requests_reset)})` : ''}`);
  if (l.tokens_remaining != null) parts.push(`${amount(l.tokens_remaining)} tokens left${l.tokens_reset ? ` (resets ${clock(l.tokens_reset)})` : ''}`);
  return parts.length ? parts.join(' · ') : 'no limits named yet';
}

function providerRow(p) {
  return h('li', { class: 'provider', dataset: { provider: p.name } },
    h('span', { class: 'who' }, p.name), ' ', h('span', { class: 'meta' }, `${p.protocol} · ${p.upstream_host}`),
    h('div', { class: 'meta' },
      h('span', { class: 'in-flight' }, p.slots != null ? `${p.in_flight} of ${p.slots} slots in use` : `${p.in_flight} in flight`),
      ' · ', h('span', { class: 'waiting' }, `${p.waiting} waiting`),
      ' · ', h('span', { class: 'limits', title: p.limits ? `as of ${p.limits.seen_at}` : '' }, limitsText(p.limits))),
    p.served ? servedLine(p.served) : null);
}

/** A model server the host runs for the provider: its state, pid, restarts, last exit, and its output's tail on hover. */
function servedLine(s) {
  const exit = s.last_exit != null ? ` · last exit ${s.last_exit}` : '';
  return h('div', { class: 'meta served', dataset: { state: s.state }, title: s.tail || 'no output yet' },
    `server ${s.state}${s.pid != null ? ` (pid ${s.pid})` : ''} · ${s.restarts} restarts${exit}`,
    s.state === 'failed' ? h('pre', { class: 'served-tail' }, s.tail.slice(-2000)) : null);
}

/** The governance section's "Model providers". */
export function gatewayProviders() {
  const list = $('governance-providers');
  if (!list) return;
  const providers = store.gateway?.providers ?? [];
  $('governance-providers-count').textContent = `(${providers.length})`;
  $('governance-providers-empty').hidden = providers.length > 0;
  renderList(list, providers, p => p.name, providerRow, (_, p) => providerRow(p));
}
