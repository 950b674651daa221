/**
 * A graph view whose requests the server extension answers: centred on a node, expanded, detailed and deepened
 * over REST, with "open the cell" actions. The sidebar and its graph tabs each hold one.
 */

import { Graph, GraphHost, GraphNode, NodeAction } from '../graph/types';
import { GraphView } from '../graph/view';
import { LineageClient, ReportFormat } from './client';
import { cellOf, NodeRef, refOf } from './refs';

/** Opens a notebook (an absolute path, as the store names it) at a cell; rejects with what went wrong. */
export type CellOpener = (notebook: string, cellId: string) => Promise<void>;

export class ServerGraph {
  readonly view: GraphView;
  center: NodeRef | null = null;
  depth = 1;
  /** The nodes drawn, by their graph id: what the view's requests name. */
  private readonly known = new Map<string, GraphNode>();
  /** How many times the graph was asked to move: an answer to an older request is dropped when it comes late. */
  private moves = 0;

  constructor(
    container: HTMLElement,
    private readonly client: LineageClient,
    private readonly fail: (error: unknown) => void,
    private readonly openCell?: CellOpener
  ) {
    this.view = new GraphView(container, this.host);
  }

  /** Centre the graph on a node: a search hit (its newest version), or a node drawn. The latest request wins:
   * false when a later one came first, and nothing is drawn. */
  async show(node: NodeRef, depth = 1): Promise<boolean> {
    const move = ++this.moves;
    const answer = await this.client.graph(node, depth);
    if (move !== this.moves) {
      return false;
    }
    const graph = this.remember(answer);
    this.depth = depth;
    const center = this.known.get(graph.center);
    this.center = center ? refOf(center) : node;
    this.view.setGraph(graph);
    return true;
  }

  /** Ask for the graph around the same centre again (new records may have arrived); dropped if it moved since. */
  async refresh(): Promise<void> {
    const move = this.moves;
    if (this.center) {
      const answer = await this.client.graph(this.center, this.depth);
      if (move === this.moves) {
        this.view.setGraph(this.remember(answer));
      }
    }
  }

  private get host(): GraphHost {
    return {
      expand: async id => this.remember(await this.client.graph(this.ref(id), 1)),
      details: id => this.client.details(this.ref(id)),
      actions: (node, graph) => this.actions(node, graph),
      setDepth: async depth => {
        if (!this.center) {
          return null;
        }
        const graph = this.remember(await this.client.graph(this.center, depth));
        this.depth = depth;
        return graph;
      }
    };
  }

  /** What the details pane offers: opening the cells that wrote the node, and its audit report. */
  private actions(node: GraphNode, graph: Graph): NodeAction[] {
    return [...this.cellActions(node, graph), ...this.reportActions(node)];
  }

  /** "Export report": a dataset's or model's audit report, downloaded as HTML or PDF. */
  private reportActions(node: GraphNode): NodeAction[] {
    if (node.kind !== 'dataset' && node.kind !== 'model') {
      return [];
    }
    return (['html', 'pdf'] as ReportFormat[]).map(format => ({
      label: `Export report (${format.toUpperCase()})`,
      title: `download the audit report of ${node.name} as ${format.toUpperCase()}`,
      run: () =>
        void this.client
          .report(refOf(node), format)
          .then(({ blob, filename }) => download(blob, filename))
          .catch(this.fail)
    }));
  }

  /** "Open the cell": for a cell, and for a dataset or model the graph shows a cell writing. */
  private cellActions(node: GraphNode, graph: Graph): NodeAction[] {
    const open = this.openCell;
    if (!open) {
      return [];
    }
    const byId = new Map(graph.nodes.map(other => [other.id, other]));
    const writers = graph.edges.filter(edge => edge.target === node.id).map(edge => byId.get(edge.source));
    const cells = (node.kind === 'cell' ? [node] : writers).filter(
      (cell): cell is GraphNode => cell?.kind === 'cell' && cellOf(cell.name) !== null
    );
    return cells.slice(0, 3).map(cell => {
      const { notebook, cellId } = cellOf(cell.name)!;
      const label = node.kind === 'cell' ? 'Open the cell' : `Open the cell that wrote it (${cell.label})`;
      return {
        label,
        title: `open ${notebook} at this cell`,
        run: () => void open(notebook, cellId).catch(this.fail)
      };
    });
  }

  private remember(graph: Graph): Graph {
    for (const node of graph.nodes) {
      this.known.set(node.id, node);
    }
    return graph;
  }

  private ref(id: string): NodeRef {
    const node = this.known.get(id);
    if (!node) {
      throw new Error(`the node ${id} is no longer in the graph`);
    }
    return refOf(node);
  }
}

/** Save a file the browser holds, as a download. */
function download(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const link = document.createElement('a');
  link.href = url;
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 60_000);
}
