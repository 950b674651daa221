/** The neighbourhood graph: the data contract of docs/graph.md, as TypeScript types. */

export type NodeKind = 'dataset' | 'model' | 'cell' | 'job';
export type Precision = 'exact' | 'cell' | null;

export interface GraphNode {
  id: string;
  kind: NodeKind;
  namespace: string;
  name: string;
  label: string;
  version: string | null;
  depth: number;
  precision: Precision;
  hidden: { upstream: number; downstream: number };
  /** The dataset's classification (badges; absent from older answers). */
  tags?: string[];
  /** The version's latest data-quality outcome (a badge), null when never checked. */
  quality?: Quality;
}

export type Quality = 'passed' | 'failed' | null;

export interface GraphEdge {
  source: string;
  target: string;
  precision: Precision;
}

export interface Graph {
  center: string;
  depth: number;
  nodes: GraphNode[];
  edges: GraphEdge[];
  truncated: boolean;
}

/** What `node_details` answers (docs/graph.md, "Details of one node"); every part but `node` may be missing. */
export interface NodeDetails {
  node: GraphNode;
  versions?: Array<{ version: string | null; time?: string | null; job?: string | null }>;
  schema?: Array<{ name: string; type?: string | null }>;
  explain?: Record<string, unknown> | null;
  [key: string]: unknown;
}

/** What the view asks of whoever shows it (the notebook widget, the sidebar, a saved page). */
export interface GraphHost {
  /** More of the graph around a node (it is merged by id); null when the host updates the view itself. */
  expand?(id: string): Promise<Graph | null>;
  /** What the details pane shows of a node. */
  details?(id: string): Promise<NodeDetails | null>;
  /** The graph around the same centre at another depth; null when the host updates the view itself. */
  setDepth?(depth: number): Promise<Graph | null>;
  /** Told the selected node ids (one, or two for a path) whenever they change. */
  selected?(ids: string[]): void;
  /** What the details pane offers to do with a node (open the cell that produced it...), given the graph shown. */
  actions?(node: GraphNode, graph: Graph): NodeAction[];
}

/** A button of the details pane. */
export interface NodeAction {
  label: string;
  title?: string;
  run(): void;
}

export const FAN_LIMIT = 10;
export const MAX_DEPTH = 10;
