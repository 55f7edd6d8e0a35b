// @ts-check
import { h } from './dom.js';

/** Its network: sealed (out only through the hive's egress proxy, to its egress rules) or open (the host's, a warning). */
export function networkChip(a) {
  const network = a.network ?? 'open';
  const rules = a.egress ?? [];
  const title = network === 'sealed'
    ? `sealed: loopback only; out through the hive's proxy to ${rules.length ? rules.join(', ') : 'nowhere'}${a.egress_ask ? ', asking you about the rest' : ''}`
    : 'open: it reaches the network as the host does';
  return h('span', { class: `chip network network-${network}`, dataset: { network }, title }, network === 'sealed' ? 'sealed' : 'open network');
}
