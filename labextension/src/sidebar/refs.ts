/** Nodes as the server names them, and the names the sidebar derives from them: plain functions, no JupyterLab. */

import { GraphNode } from '../graph/types';

/** A node as the server names it exactly: its kind, namespace and name, and a version (null: version unknown). */
export interface NodeRef {
  kind: string;
  namespace: string;
  name: string;
  version?: string | null;
}

/** A node's query parameters; a version left out means its newest, an empty one its "version unknown" node. */
export function nodeQuery(node: NodeRef): Record<string, string> {
  const kind = node.kind === 'notebook' ? 'job' : node.kind;
  const query: Record<string, string> = { node: node.name, namespace: node.namespace, kind };
  if (node.version !== undefined) {
    query.version = node.version ?? '';
  }
  return query;
}

export function refOf(node: GraphNode): NodeRef {
  return { kind: node.kind, namespace: node.namespace, name: node.name, version: node.version };
}

/** A cell job's notebook (an absolute path) and cell id: `NOTEBOOK#CELL`; null for any other name. */
export function cellOf(name: string): { notebook: string; cellId: string } | null {
  const at = name.lastIndexOf('#');
  return at > 0 && at < name.length - 1 ? { notebook: name.slice(0, at), cellId: name.slice(at + 1) } : null;
}

/** `path` relative to the server's `root`, or null when it is outside it (or the root is not known). */
export function relativeTo(root: string | undefined | null, path: string): string | null {
  if (!root) {
    return null;
  }
  const base = root.endsWith('/') ? root : `${root}/`;
  const relative = path.startsWith(base) ? path.slice(base.length) : null;
  return relative && !relative.split('/').includes('..') ? relative : null;
}

/** A name's last part (after `/`), what a list of hits shows; the whole name is its tooltip. */
export function lastPart(name: string): string {
  const trimmed = name.replace(/\/+$/, '');
  return trimmed.slice(trimmed.lastIndexOf('/') + 1) || name;
}
