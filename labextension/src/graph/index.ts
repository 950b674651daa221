/** The lineage graph view, shared by the notebook widget and the JupyterLab sidebar. */

export { answerTables } from './answers';
export { findPath, mergeGraphs, searchNodes, visibleGraph } from './model';
export { sortableTable } from './table';
export type { Cell, Table } from './table';
export * from './types';
export { GraphView } from './view';
