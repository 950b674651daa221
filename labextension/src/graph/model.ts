/** Graph data operations without drawing: merging by id, collapsing wide fans, paths, search. */

import { FAN_LIMIT, Graph, GraphEdge, GraphNode } from './types';

export type Side = 'upstream' | 'downstream';

/** A node drawn in place of the neighbours of `owner` beyond the first FAN_LIMIT on one side. */
export interface FanGroup {
  id: string;
  owner: string;
  side: Side;
  members: string[];
}

/** What is drawn: the graph's nodes minus those folded into fan groups, plus the groups. */
export interface VisibleGraph {
  nodes: GraphNode[];
  groups: FanGroup[];
  edges: GraphEdge[];
  /** For each node folded into a group, the group's id. */
  folded: Map<string, string>;
}

/** `extra` merged into `base` by node id; the centre and depth stay those of `base`. */
export function mergeGraphs(base: Graph, extra: Graph): Graph {
  const nodes = new Map(base.nodes.map(node => [node.id, node]));
  for (const node of extra.nodes) {
    const known = nodes.get(node.id);
    nodes.set(node.id, known ? { ...known, hidden: fewerHidden(known, node) } : node);
  }
  const edges = new Map(base.edges.map(edge => [edgeKey(edge), edge]));
  for (const edge of extra.edges) {
    if (!edges.has(edgeKey(edge))) {
      edges.set(edgeKey(edge), edge);
    }
  }
  return { ...base, nodes: [...nodes.values()], edges: [...edges.values()], truncated: base.truncated || extra.truncated };
}

function fewerHidden(a: GraphNode, b: GraphNode): GraphNode['hidden'] {
  return {
    upstream: Math.min(a.hidden.upstream, b.hidden.upstream),
    downstream: Math.min(a.hidden.downstream, b.hidden.downstream)
  };
}

export function edgeKey(edge: { source: string; target: string }): string {
  return JSON.stringify([edge.source, edge.target]);
}

export function groupId(owner: string, side: Side): string {
  return `fan:${side}:${owner}`;
}

interface Adjacency {
  upstream: Map<string, string[]>;
  downstream: Map<string, string[]>;
}

function adjacency(graph: Graph): Adjacency {
  const upstream = new Map<string, string[]>();
  const downstream = new Map<string, string[]>();
  for (const edge of graph.edges) {
    push(downstream, edge.source, edge.target);
    push(upstream, edge.target, edge.source);
  }
  return { upstream, downstream };
}

function push(map: Map<string, string[]>, key: string, value: string): void {
  const list = map.get(key);
  if (list) {
    list.push(value);
  } else {
    map.set(key, [value]);
  }
}

/**
 * The graph as drawn: walking out from the centre, a node with more than FAN_LIMIT neighbours on one side keeps
 * the first FAN_LIMIT (by label) and folds the rest into one group, unless that group was opened. Nodes reached
 * another way stay drawn; the data itself is never cut.
 */
export function visibleGraph(graph: Graph, opened: ReadonlySet<string>): VisibleGraph {
  const byId = new Map(graph.nodes.map(node => [node.id, node]));
  const links = adjacency(graph);
  const label = (id: string) => byId.get(id)?.label ?? id;
  const shown = new Set<string>();
  const pending: Array<{ owner: string; side: Side; rest: string[] }> = [];
  const queue: string[] = [];
  const visit = (id: string) => {
    if (byId.has(id) && !shown.has(id)) {
      shown.add(id);
      queue.push(id);
    }
  };
  const starts = byId.has(graph.center) ? [graph.center] : [];
  for (const id of [...starts, ...graph.nodes.map(node => node.id)]) {
    visit(id);
    while (queue.length) {
      const id = queue.shift() as string;
      for (const side of ['upstream', 'downstream'] as Side[]) {
        const near = [...new Set(links[side].get(id) ?? [])];
        if (near.length <= FAN_LIMIT || opened.has(groupId(id, side))) {
          near.forEach(visit);
          continue;
        }
        near.sort((a, b) => label(a).localeCompare(label(b)));
        near.slice(0, FAN_LIMIT).forEach(visit);
        pending.push({ owner: id, side, rest: near.slice(FAN_LIMIT) });
      }
    }
    if (starts.length) {
      break; // the walk from the centre decides; nodes it never reached stay folded
    }
  }
  const groups: FanGroup[] = [];
  const folded = new Map<string, string>();
  for (const { owner, side, rest } of pending) {
    const members = rest.filter(id => !shown.has(id) && !folded.has(id));
    if (members.length) {
      const id = groupId(owner, side);
      groups.push({ id, owner, side, members });
      members.forEach(member => folded.set(member, id));
    }
  }
  foldUnreached(graph, shown, folded, links);
  const nodes = graph.nodes.filter(node => shown.has(node.id));
  const edges = graph.edges.filter(edge => shown.has(edge.source) && shown.has(edge.target));
  for (const group of groups) {
    const [source, target] = group.side === 'downstream' ? [group.owner, group.id] : [group.id, group.owner];
    edges.push({ source, target, precision: null });
  }
  return { nodes, groups, edges, folded };
}

/** Nodes beyond a folded one belong to the group that folded the node they are reached through. */
function foldUnreached(graph: Graph, shown: Set<string>, folded: Map<string, string>, links: Adjacency): void {
  const queue = [...folded.keys()];
  while (queue.length) {
    const id = queue.shift() as string;
    const group = folded.get(id) as string;
    for (const next of [...(links.upstream.get(id) ?? []), ...(links.downstream.get(id) ?? [])]) {
      if (!shown.has(next) && !folded.has(next)) {
        folded.set(next, group);
        queue.push(next);
      }
    }
  }
  for (const node of graph.nodes) {
    if (!shown.has(node.id) && !folded.has(node.id)) {
      shown.add(node.id); // not connected to the centre at all: drawn rather than lost
    }
  }
}

/**
 * The nodes and edges of a shortest path between `a` and `b` among `edges`: in the flow of data from a to b,
 * else from b to a, else ignoring direction. Empty when they are not connected.
 */
export function findPath(edges: GraphEdge[], a: string, b: string): { nodes: Set<string>; edges: Set<string> } {
  for (const mode of ['forward', 'backward', 'any'] as const) {
    const found = shortestPath(edges, mode === 'backward' ? b : a, mode === 'backward' ? a : b, mode === 'any');
    if (found) {
      return found;
    }
  }
  return { nodes: new Set(), edges: new Set() };
}

function shortestPath(
  edges: GraphEdge[],
  from: string,
  to: string,
  undirected: boolean
): { nodes: Set<string>; edges: Set<string> } | null {
  const next = new Map<string, Array<[string, GraphEdge]>>();
  for (const edge of edges) {
    const forward = next.get(edge.source) ?? [];
    forward.push([edge.target, edge]);
    next.set(edge.source, forward);
    if (undirected) {
      const backward = next.get(edge.target) ?? [];
      backward.push([edge.source, edge]);
      next.set(edge.target, backward);
    }
  }
  const came = new Map<string, [string, GraphEdge] | null>([[from, null]]);
  const queue = [from];
  while (queue.length && !came.has(to)) {
    const id = queue.shift() as string;
    for (const [near, edge] of next.get(id) ?? []) {
      if (!came.has(near)) {
        came.set(near, [id, edge]);
        queue.push(near);
      }
    }
  }
  if (!came.has(to)) {
    return null;
  }
  const nodes = new Set<string>([to]);
  const onPath = new Set<string>();
  for (let step = came.get(to); step; step = came.get(step[0])) {
    nodes.add(step[0]);
    onPath.add(edgeKey(step[1]));
  }
  return { nodes, edges: onPath };
}

/** Ids of the nodes whose label, name or version contains `query` (case-insensitive), in graph order. */
export function searchNodes(nodes: GraphNode[], query: string): string[] {
  const wanted = query.trim().toLowerCase();
  if (!wanted) {
    return [];
  }
  return nodes
    .filter(node => [node.label, node.name, node.version ?? ''].some(text => text.toLowerCase().includes(wanted)))
    .map(node => node.id);
}
