// @ts-check
import { h } from './dom.js';
import { store } from './store.js';

// What the new-agent form and an agent's configuration form share: the text forms of a command, an environment,
// secrets and mounts (parsed and written back), and the secret names offered beside the secrets box.

/** A JSON array of strings, or words split on whitespace. */
export function parseCommand(text) {
  const trimmed = text.trim();
  if (!trimmed) return [];
  if (trimmed.startsWith('[')) {
    let parsed;
    try { parsed = JSON.parse(trimmed); } catch { throw new Error('the command looks like JSON but does not parse: write a JSON array of strings, or plain words'); }
    if (!Array.isArray(parsed) || !parsed.every(w => typeof w === 'string'))
      throw new Error('the command must be a JSON array of strings');
    return parsed;
  }
  return trimmed.split(/\s+/);
}

/** Words when every word is plain, else the JSON array (so it parses back to the same command). */
export function formatCommand(argv) {
  if (!Array.isArray(argv) || argv.length === 0) return '';
  return argv.every(w => /^[^\s"'[\]\\]+$/.test(w)) ? argv.join(' ') : JSON.stringify(argv);
}

const lines = text => text.split('\n').map(l => l.trim()).filter(Boolean);

/** `KEY=value` lines: the value is everything after the first `=` (spaces and `=` included). */
export function parseEnv(text) {
  const env = {};
  for (const line of lines(text)) {
    const at = line.indexOf('=');
    if (at <= 0) throw new Error(`environment: write KEY=value, one per line, not ${line.slice(0, 40)}`);
    env[line.slice(0, at).trim()] = line.slice(at + 1);
  }
  return env;
}

/** `VARIABLE=secret-name` lines (or pairs separated by commas or spaces): which secret each environment variable is set from. */
export function parseSecrets(text) {
  const secrets = {};
  for (const pair of text.split(/[\s,]+/).filter(Boolean)) {
    const at = pair.indexOf('=');
    if (at <= 0 || at === pair.length - 1) throw new Error(`secrets: write VARIABLE=secret-name, one per line, not ${pair.slice(0, 40)}`);
    secrets[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return secrets;
}

/** One path per line. */
export const parseMounts = text => lines(text);

/** Names separated by commas, spaces or lines. */
export const parseNames = text => text.split(/[\s,]+/).filter(Boolean);

export const formatPairs = map => Object.entries(map ?? {}).map(([k, v]) => `${k}=${v}`).join('\n');

/** A variable name for a secret: `anthropic-key` → `ANTHROPIC_KEY`. */
const variableFor = name => name.toUpperCase().replace(/[^A-Z0-9_]/g, '_').replace(/^([0-9])/, '_$1');

/**
 * The operator's secrets (names only, live from the store) as buttons under a secrets box: a click adds a line
 * `VARIABLE=name` for the operator to adjust. Every such box on the page is refreshed when the secrets change.
 */
export function secretPicks(box, textarea) {
  box.classList.add('secret-picks');
  pickers.set(box, textarea);
  fillPicks(box, textarea);
  return box;
}

const pickers = new Map();

function fillPicks(box, textarea) {
  const names = [...store.secrets].map(s => s.name).sort();
  box.replaceChildren(...(names.length === 0 ? ['No secrets set yet (see Secrets).'] : ['Add a secret: ',
    ...names.map(name => h('button', { type: 'button', class: 'quiet pick', dataset: { secret: name }, title: `add ${variableFor(name)}=${name}`,
      onclick: () => {
        const text = textarea.value.replace(/\s+$/, '');
        textarea.value = (text ? text + '\n' : '') + `${variableFor(name)}=${name}`;
        textarea.dispatchEvent(new Event('input', { bubbles: true }));
        textarea.focus();
      } }, name))]));
}

/** The secrets changed: every secrets box still on the page offers the new list. */
export function refreshSecretPicks() {
  for (const [box, textarea] of pickers) {
    if (!box.isConnected) { pickers.delete(box); continue; }
    fillPicks(box, textarea);
  }
}
