// @ts-check
// A terminal in an agent's sandbox: xterm.js (vendored, see scripts/vendor-xterm.sh) on the host's WebSocket
// GET /api/agents/{name}/terminal. Binary frames carry bytes both ways; a text frame {"cols","rows"} resizes.
// Reusable: openTerminal(container, agentName) mounts one anywhere (the agent's own page may embed it).
// The vendored modules are served at /vendor and carry no typings: to the checker they are untyped.
// @ts-expect-error
import { Terminal } from '/vendor/xterm/xterm.js';
// @ts-expect-error
import { FitAddon } from '/vendor/xterm/addon-fit.js';

/**
 * Opens a terminal in `agentName`'s sandbox inside `container`. `onState(state, text)` hears 'open', 'closed' (with why)
 * and 'refused' (with the host's answer). Returns { terminal, socket, close() }; close() ends the shell.
 * @param {HTMLElement} container
 * @param {string} agentName
 * @param {{ onState?: (state: string, text?: string) => void }} [options]
 */
export function openTerminal(container, agentName, { onState = () => {} } = {}) {
  const terminal = new Terminal({
    cursorBlink: true,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Menlo, monospace',
    fontSize: 14,
    lineHeight: 1.2, // at 1.0 the DOM renderer clips underscores in DejaVu Sans Mono
    theme: { background: '#000000', foreground: '#d4d4dc', cursor: '#7fdfd0' },
  });
  const fit = new FitAddon();
  terminal.loadAddon(fit);
  terminal.open(container);
  fit.fit();

  const scheme = location.protocol === 'https:' ? 'wss:' : 'ws:';
  const url = `${scheme}//${location.host}/api/agents/${encodeURIComponent(agentName)}/terminal?cols=${terminal.cols}&rows=${terminal.rows}`;
  const socket = new WebSocket(url);
  socket.binaryType = 'arraybuffer';
  const encoder = new TextEncoder();
  let opened = false;

  socket.addEventListener('open', () => {
    opened = true;
    // The page may have been resized while the socket opened.
    socket.send(JSON.stringify({ cols: terminal.cols, rows: terminal.rows }));
    onState('open');
    terminal.focus();
  });
  socket.addEventListener('message', event => {
    if (event.data instanceof ArrayBuffer) terminal.write(new Uint8Array(event.data));
  });
  socket.addEventListener('close', async event => {
    if (opened) {
      terminal.write(`\r\n\x1b[33m[terminal closed${event.reason ? `: ${event.reason}` : ''}]\x1b[0m\r\n`);
      onState('closed', event.reason || 'closed');
      return;
    }
    // The handshake was refused: a WebSocket does not say why, the same URL as a plain GET does.
    onState('refused', await whyRefused(agentName));
  });

  const send = data => { if (socket.readyState === WebSocket.OPEN) socket.send(data); };
  terminal.onData(data => send(encoder.encode(data)));
  terminal.onBinary(data => send(Uint8Array.from(data, c => c.charCodeAt(0))));
  // The size the shell was last told, on the container too (for whoever watches it: a test, the page's own CSS).
  const told = (cols, rows) => { container.dataset.size = `${cols}x${rows}`; };
  told(terminal.cols, terminal.rows);
  terminal.onResize(({ cols, rows }) => {
    send(JSON.stringify({ cols, rows }));
    told(cols, rows);
  });
  const resized = new ResizeObserver(() => fit.fit());
  resized.observe(container);

  return {
    terminal,
    socket,
    close() {
      resized.disconnect();
      socket.close();
      terminal.dispose();
    },
  };
}

async function whyRefused(agentName) {
  try {
    const response = await fetch(`/api/agents/${encodeURIComponent(agentName)}`);
    if (response.status === 401) return 'sign in first: open the sign-in link the host printed at start-up (or the one in <DataDir>/sign-in-link), then this page again';
    if (response.status === 404) return `there is no agent named ${agentName}`;
    if (!response.ok) return `the host answered ${response.status}`;
    const agent = await response.json();
    if (agent.state !== 'running') return `${agentName} is ${agent.state}: start it to open a terminal`;
    return 'the host refused the terminal (see its log)';
  } catch (error) {
    return `the host cannot be reached: ${error.message}`;
  }
}
