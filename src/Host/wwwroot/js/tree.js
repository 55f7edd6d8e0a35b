// @ts-check

// The swarm as a tree, by each row's `parent`: the manager's children are the top level (parent null). A parent the page
// does not list (a row that arrived before its parent's, or after its parent left) leaves the row at the top level, and so
// would a loop, which the host refuses but a page between two events must not hang on.

/**
 * @typedef {{ agent: any, depth: number }} Placed
 * @typedef {{
 *   order: Placed[],
 *   parentOf: Map<string, string>,
 *   children: Map<string, string[]>,
 *   descendants: (name: string) => string[],
 *   topOf: (name: string) => string,
 * }} Tree
 */

const byName = (a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0);

/** The agents as a tree: `order` is depth first (the manager, then the top level by name, each followed by its subtree). */
export function agentTree(agents) {
  const rows = [...agents];
  const known = new Map(rows.map(a => [a.name, a]));
  const parentOf = new Map();
  for (const a of rows) if (a.parent && a.parent !== a.name && known.has(a.parent)) parentOf.set(a.name, a.parent);
  const children = new Map();
  for (const a of [...rows].sort(byName)) {
    const parent = parentOf.get(a.name);
    if (parent) children.set(parent, [...(children.get(parent) ?? []), a.name]);
  }
  /** @type {Placed[]} */
  const order = [];
  const placed = new Set();
  const place = (name, depth) => {
    if (placed.has(name)) return;
    placed.add(name);
    order.push({ agent: known.get(name), depth });
    for (const child of children.get(name) ?? []) place(child, depth + 1);
  };
  const roots = rows.filter(a => !parentOf.has(a.name))
    .sort((a, b) => (a.kind === 'manager' ? 0 : 1) - (b.kind === 'manager' ? 0 : 1) || byName(a, b));
  for (const root of roots) place(root.name, 0);
  // Only a loop leaves rows unplaced: each of them heads what is left of it.
  for (const a of [...rows].sort(byName)) {
    if (placed.has(a.name)) continue;
    parentOf.delete(a.name);
    place(a.name, 0);
  }

  const descendants = name => {
    const found = [];
    const walk = n => { for (const child of children.get(n) ?? []) if (!found.includes(child) && child !== name) { found.push(child); walk(child); } };
    walk(name);
    return found;
  };
  const topOf = name => {
    const seen = new Set([name]);
    let top = name;
    while (parentOf.has(top) && !seen.has(parentOf.get(top))) { top = parentOf.get(top); seen.add(top); }
    return top;
  };
  return { order, parentOf, children, descendants, topOf };
}
