/**
 * The REST client of the sidebar: nblineage's server extension under `/nblineage/api/` (docs/rest.md), called with
 * JupyterLab's own server connection (its token, cookie and XSRF header).
 */

import { URLExt } from '@jupyterlab/coreutils';
import { ServerConnection } from '@jupyterlab/services';

import { Graph, NodeDetails } from '../graph/types';
import { NodeRef, nodeQuery } from './refs';

export type { NodeRef } from './refs';

/** One search hit (docs/rest.md, `search`): a dataset, model, notebook or job. */
export interface SearchHit extends NodeRef {
  version: string | null;
  versions: number;
}

/** What the server says about itself and its store. */
export interface ServerStatus {
  store: string;
  events: number;
  /** The server's root folder: notebook paths in the store are absolute, JupyterLab's are relative to it. */
  root?: string;
}

/** A failed request, with the server's `{code, message}` when it gave one. */
export class LineageError extends Error {
  constructor(
    readonly status: number,
    message: string
  ) {
    super(message);
  }

  /** The server extension is not there (not installed, not enabled, or JupyterLab not restarted). */
  get extensionMissing(): boolean {
    return this.status === 404 && this.message === EXTENSION_MISSING;
  }
}

const EXTENSION_MISSING = 'the nblineage server extension does not answer';

export class LineageClient {
  constructor(private readonly settings: ServerConnection.ISettings = ServerConnection.makeSettings()) {}

  status(): Promise<ServerStatus> {
    return this.get('status');
  }

  /** Nodes whose name contains `query`: datasets, models, notebooks and jobs, or the `kind`s given. */
  async search(query: string, limit = 30, kind?: string): Promise<SearchHit[]> {
    const params: Record<string, string> = { q: query, limit: String(limit) };
    if (kind) {
      params.kind = kind;
    }
    const found = await this.get<{ hits: SearchHit[] }>('search', params);
    return found.hits;
  }

  /** The neighbourhood of a node, `depth` dataset hops each way (docs/graph.md). */
  graph(node: NodeRef, depth = 1): Promise<Graph> {
    return this.get('graph', { ...nodeQuery(node), depth: String(depth) });
  }

  /** What the details pane shows of a node. */
  details(node: NodeRef): Promise<NodeDetails> {
    return this.get('node', nodeQuery(node));
  }

  /** The audit report of a dataset or model (`html` or `pdf`), as a file to save, and the name the server gives it. */
  async report(node: NodeRef, format: ReportFormat): Promise<{ blob: Blob; filename: string }> {
    const response = await this.request('report', { ...nodeQuery(node), format });
    if (!response.ok) {
      await this.failure(response, await response.text());
    }
    const disposition = response.headers.get('Content-Disposition') ?? '';
    const named = /filename="([^"]+)"/.exec(disposition);
    return { blob: await response.blob(), filename: named ? named[1] : `report.${format}` };
  }

  private async get<T>(route: string, query: Record<string, string> = {}): Promise<T> {
    const response = await this.request(route, query);
    const text = await response.text();
    if (!response.ok) {
      await this.failure(response, text);
    }
    return parsed(text) as T;
  }

  private async request(route: string, query: Record<string, string>): Promise<Response> {
    const url = URLExt.join(this.settings.baseUrl, 'nblineage/api', route) + URLExt.objectToQueryString(query);
    try {
      return await ServerConnection.makeRequest(url, {}, this.settings);
    } catch (error) {
      throw new LineageError(0, `the Jupyter server cannot be reached: ${String(error)}`);
    }
  }

  /** Throw what a failed response says: the server's `{code, message}`, or that the extension is missing. */
  private async failure(response: Response, text: string): Promise<never> {
    const body = parsed(text);
    const fromUs = body && typeof body.message === 'string' && typeof body.code === 'number';
    if (response.status === 404 && !fromUs) {
      throw new LineageError(404, EXTENSION_MISSING);
    }
    throw new LineageError(response.status, fromUs ? body.message : `${response.status} ${response.statusText}`);
  }
}

export type ReportFormat = 'html' | 'pdf';

function parsed(text: string): any {
  try {
    return text ? JSON.parse(text) : null;
  } catch {
    return null;
  }
}
