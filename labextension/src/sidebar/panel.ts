/**
 * The lineage sidebar: a search over datasets, models and notebooks, and the lineage graph of what is chosen,
 * drawn by the same graph view as the notebook widget, its requests answered by the server extension.
 */

import { Widget } from '@lumino/widgets';

import { html } from '../graph/dom';
import { LineageClient, LineageError, NodeRef, SearchHit } from './client';
import { lastPart } from './refs';
import { CellOpener, ServerGraph } from './servergraph';

const SEARCH_DELAY = 250;
/** After a cell ran, the graph is asked for again this long after (ms): its records reach the store in between. */
const REFRESH_AFTER = [1500, 5000, 12000];

export const FIX_EXTENSION =
  'The nblineage server extension is not answering. Run `jupyter server extension enable nblineage` ' +
  '(and `pip install nblineage` in the environment that runs the Jupyter server), then restart JupyterLab.';

/** Opens the graph around a node in a main-area tab, where it has room. */
export type TabOpener = (center: NodeRef, depth: number) => void;

export class LineagePanel extends Widget {
  private readonly searchInput: HTMLInputElement;
  private readonly results: HTMLUListElement;
  private readonly message: HTMLElement;
  private readonly graph: ServerGraph;
  private readonly tabButton: HTMLButtonElement;
  private timer = 0;
  private searched = '';
  private checked = false;
  /** The active cell whose lineage is shown; null once the user chose a node, until the active cell changes. */
  private followed: string | null = null;
  private refreshes: number[] = [];

  constructor(
    private readonly client: LineageClient,
    openCell?: CellOpener,
    private readonly openTab?: TabOpener
  ) {
    super();
    this.addClass('nbl-sidebar');
    const node = this.node;
    node.appendChild(html('h2', { class: 'nbl-sidebar-title' }, 'Lineage'));
    const form = node.appendChild(html('form', { class: 'nbl-sidebar-search', role: 'search' }));
    this.searchInput = form.appendChild(
      html('input', {
        type: 'search',
        placeholder: 'Search datasets, models, notebooks',
        'aria-label': 'search datasets, models and notebooks'
      })
    );
    this.results = node.appendChild(html('ul', { class: 'nbl-sidebar-results', 'aria-label': 'search results' }));
    const bar = node.appendChild(html('div', { class: 'nbl-sidebar-bar' }));
    this.message = bar.appendChild(html('p', { class: 'nbl-sidebar-message', role: 'status' }));
    this.tabButton = bar.appendChild(
      html('button', { type: 'button', class: 'nbl-open-tab', title: 'open this graph in a tab', hidden: 'hidden' })
    );
    this.tabButton.textContent = 'Open in a tab';
    this.tabButton.addEventListener('click', () => {
      if (this.graph.center) {
        this.openTab?.(this.graph.center, this.graph.depth);
      }
    });
    const graph = node.appendChild(html('div', { class: 'nbl-sidebar-graph' }));
    this.graph = new ServerGraph(graph, client, error => this.fail(error), openCell);
    form.addEventListener('submit', event => {
      event.preventDefault();
      void this.search(this.searchInput.value);
    });
    this.searchInput.addEventListener('input', () => {
      window.clearTimeout(this.timer);
      this.timer = window.setTimeout(() => void this.search(this.searchInput.value), SEARCH_DELAY);
    });
  }

  /** Centre the graph on a node the user chose (a search hit): it stays until the user moves to another cell. */
  async showNode(node: NodeRef, depth = 1): Promise<void> {
    this.followed = null;
    await this.centre(node, depth);
  }

  private async centre(node: NodeRef, depth = 1): Promise<void> {
    try {
      if (await this.graph.show(node, depth)) {
        this.say('');
        this.tabButton.hidden = !this.openTab;
      }
    } catch (error) {
      this.fail(error);
    }
  }

  /** The notebook's active cell changed: show what its runs read and wrote, when the store knows the cell. */
  async followCell(cellId: string): Promise<void> {
    this.followed = cellId;
    if (!this.isVisible) {
      return;
    }
    try {
      const hits = await this.client.search(`#${cellId}`, 1, 'cell');
      if (hits.length && this.followed === cellId) {
        await this.centre({ kind: 'cell', namespace: hits[0].namespace, name: hits[0].name });
      }
    } catch (error) {
      this.fail(error);
    }
  }

  /** A cell of an open notebook ran: follow it, and draw the graph again as its records arrive. */
  cellRan(cellId: string): void {
    this.refreshes.forEach(timer => window.clearTimeout(timer));
    this.refreshes = REFRESH_AFTER.map(delay => window.setTimeout(() => void this.refresh(cellId), delay));
  }

  private async refresh(cellId: string): Promise<void> {
    if (!this.isVisible) {
      return;
    }
    const center = this.graph.center;
    if (this.followed === cellId && !(center?.kind === 'cell' && center.name.endsWith(`#${cellId}`))) {
      return this.followCell(cellId);
    }
    await this.graph.refresh().catch(error => this.fail(error));
  }

  /** Check once, when first shown, that the server extension answers; say how to fix it when it does not. */
  protected onAfterShow(): void {
    if (this.followed && !this.graph.center) {
      void this.followCell(this.followed);
    }
    if (!this.checked) {
      this.checked = true;
      this.client.status().then(
        status => {
          this.say(`${status.events} ${status.events === 1 ? 'event' : 'events'} in ${status.store}`);
          this.message.title = status.store;
        },
        error => this.fail(error)
      );
    }
  }

  private async search(query: string): Promise<void> {
    query = query.trim();
    if (query === this.searched) {
      return;
    }
    this.searched = query;
    if (!query) {
      this.results.replaceChildren();
      return;
    }
    try {
      const hits = await this.client.search(query);
      if (query === this.searched) {
        this.listHits(hits);
        this.say(hits.length ? '' : `nothing matches “${query}”`);
      }
    } catch (error) {
      this.fail(error);
    }
  }

  private listHits(hits: SearchHit[]): void {
    this.results.replaceChildren(
      ...hits.map(hit => {
        const item = html('li');
        const button = item.appendChild(html('button', { type: 'button', class: `nbl-hit nbl-hit-${hit.kind}` }));
        button.appendChild(html('span', { class: 'nbl-hit-kind' }, hit.kind));
        button.appendChild(html('span', { class: 'nbl-hit-label', title: hit.name }, lastPart(hit.name)));
        button.addEventListener('click', () => void this.showNode({ kind: hit.kind, namespace: hit.namespace, name: hit.name }));
        return item;
      })
    );
  }

  private fail(error: unknown): void {
    if (error instanceof LineageError && error.extensionMissing) {
      this.say(FIX_EXTENSION, true);
    } else {
      this.say(error instanceof Error ? error.message : String(error), true);
    }
  }

  private say(text: string, problem = false): void {
    this.message.textContent = text;
    this.message.title = '';
    this.message.classList.toggle('nbl-problem', problem);
  }
}
