/** Small graphs for the tests, in the contract of docs/graph.md. */

import { Graph, GraphEdge, GraphNode, NodeKind } from '../src/graph/types';

export function node(id: string, kind: NodeKind = 'dataset', depth = 0): GraphNode {
  return {
    id,
    kind,
    namespace: 'file',
    name: `/data/${id}`,
    label: id,
    version: null,
    depth,
    precision: null,
    hidden: { upstream: 0, downstream: 0 }
  };
}

export function edge(source: string, target: string): GraphEdge {
  return { source, target, precision: 'exact' };
}

export function graph(center: string, nodes: GraphNode[], edges: GraphEdge[]): Graph {
  return { center, depth: 1, nodes, edges, truncated: false };
}
