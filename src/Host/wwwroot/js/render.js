// @ts-check
import { relative } from './dom.js';
import { swarm } from './swarm.js';
import { tombstones } from './tombstones.js';
import { constellation } from './constellation.js';
import { approvals } from './approvals.js';
import { meta, metaStale } from './meta.js';
import { secrets } from './secrets.js';
import { waiting } from './waiting.js';
import { inbox } from './inbox.js';
import { flow, flowAgents } from './flow.js';
import { questions } from './questions.js';
import { reminders } from './reminders.js';
import { governance, refreshGovernance, governanceUsage } from './governance.js';
import { interventions, refreshInterventions } from './interventions.js';
import { channels, refreshChannels } from './channels.js';
import { board, boardTicket, leases, mergeQueue, refreshMergeQueue } from './board.js';
import { gatewayProviders } from './gateway.js';

// The page's sections, each in the module named after it; this file only says which to draw.
export { loadOlder, wireFlowFilter } from './flow.js';
export { refreshDeadlines } from './questions.js';
export { tickGovernance, wireGovernance } from './governance.js';
export { wireBoard } from './board.js';

export function renderAll() {
  for (const section of ['approvals', 'swarm', 'tombstones', 'constellation', 'secrets', 'meta', 'inbox', 'flow', 'questions', 'reminders', 'governance', 'governance-usage', 'gateway', 'waiting', 'board']) render(section);
  render('interventions-refresh'); // not in /api/state: loaded on its own, after each (re)load of the snapshot
  render('channels-refresh');
}

export function render(section) {
  ({ approvals, swarm: swarmAndFilter, tombstones, constellation, secrets, meta, 'meta-log': metaStale, inbox, flow, questions, reminders, governance,
    'governance-refresh': () => refreshGovernance(() => render('swarm')), 'governance-usage': governanceUsage, interventions, 'interventions-refresh': refreshInterventions,
    channels, 'channels-refresh': refreshChannels, board, 'board-ticket': boardTicket, 'board-leases': leases,
    'board-queue': mergeQueue, 'board-queue-refresh': refreshMergeQueue,
    gateway: gatewayProviders, waiting })[section]?.();
}

function swarmAndFilter() {
  swarm();
  flowAgents(); // the flow's agent filter offers every agent listed
}

/** Relative times age without any request: refresh their text now and then. */
export function refreshTimes() {
  for (const node of /** @type {NodeListOf<HTMLElement>} */ (document.querySelectorAll('.due, .ago'))) node.textContent = relative(node.title);
  render('swarm');
  render('tombstones');
  render('constellation');
}
