/** The details pane of one node: what the graph says of it, then what the host answers (versions, schema,
 * and for a model the five answers), all as sortable tables. */

import { answerTables, cell } from './answers';
import { html } from './dom';
import { Graph, GraphNode, NodeDetails } from './types';
import { Cell, sortableTable, Table } from './table';

/** The part of the pane known without asking: the node's facts and its edges with their precision. */
export function nodeSummary(node: GraphNode, graph: Graph): HTMLElement[] {
  const labels = new Map(graph.nodes.map(other => [other.id, other.label]));
  const facts: Table = {
    title: 'Node',
    columns: ['', 'value'],
    keyed: true,
    rows: [
      ['kind', node.kind],
      ['name', node.name],
      ['namespace', node.namespace],
      ['version', node.version],
      ['depth', node.depth],
      ['precision', node.precision],
      ['tags', node.tags?.length ? node.tags.join(', ') : null],
      ['quality', node.quality ?? null],
      ['hidden upstream', node.hidden.upstream],
      ['hidden downstream', node.hidden.downstream]
    ].filter(row => row[1] !== null) as Cell[][]
  };
  const edges: Table = {
    title: 'Edges',
    columns: ['direction', 'node', 'precision'],
    rows: graph.edges
      .filter(edge => edge.source === node.id || edge.target === node.id)
      .map(edge =>
        edge.target === node.id
          ? ['from', labels.get(edge.source) ?? edge.source, edge.precision ?? 'unknown']
          : ['to', labels.get(edge.target) ?? edge.target, edge.precision ?? 'unknown']
      )
  };
  return [sortableTable(facts), sortableTable(edges)];
}

/** The tables of what the host answered about the node. */
export function detailTables(details: NodeDetails): HTMLElement[] {
  const tables = [listTable('Versions', details.versions), listTable('Schema', details.schema)];
  if (details.explain && typeof details.explain === 'object') {
    tables.push(...answerTables(details.explain));
  }
  return tables.filter((table): table is Table => table !== null).map(sortableTable);
}

/** A list of JSON objects as a table with a column per key (null when the host did not say). */
function listTable(title: string, items: unknown): Table | null {
  if (!Array.isArray(items)) {
    return null;
  }
  const rows = items.map(item => (item && typeof item === 'object' ? (item as Record<string, unknown>) : {}));
  const columns = [...new Set(rows.flatMap(row => Object.keys(row)))];
  return { title, columns, rows: rows.map(row => columns.map(column => cell(row[column]))) };
}

export function paneHeader(node: GraphNode, close: () => void): HTMLElement {
  const header = html('header');
  header.appendChild(html('span', { class: `nbl-kind nbl-kind-${node.kind}` }, node.kind));
  header.appendChild(html('h3', { title: node.name }, node.label));
  const button = html('button', { type: 'button', class: 'nbl-close', title: 'close details' }, '×');
  button.addEventListener('click', close);
  header.appendChild(button);
  return header;
}
