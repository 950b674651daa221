/**
 * The lineage graph view: draws a neighbourhood graph (docs/graph.md) into a container, framework-free, so the
 * notebook widget and the JupyterLab sidebar share it. The host answers expand, details and depth requests.
 */

import './graph.css';
import { detailTables, nodeSummary, paneHeader } from './details';
import { html, svg } from './dom';
import { drawEdge, drawGroup, drawNode, groupBox, markers, nodeBox, titleOf } from './draw';
import { Box, Direction, Layout, layout, Link } from './layout';
import { edgeKey, findPath, mergeGraphs, searchNodes, visibleGraph, VisibleGraph } from './model';
import { Graph, GraphHost, GraphNode, MAX_DEPTH } from './types';
import { Viewport } from './viewport';

let views = 0;

/** A view narrower than this (a sidebar) draws data flowing down, so labels keep a readable size. */
export const NARROW = 420;
/** The smallest scale a narrow view fits a graph to: labels stay legible, the rest is a pan away. */
const READABLE = 0.7;
/** A graph of at most this many boxes is laid out both ways, and drawn the way it shows larger. */
const SMALL = 400;

export class GraphView {
  readonly element: HTMLDivElement;
  /** Milliseconds the last layout and drawing took (the benchmark reads them). */
  timings = { layout: 0, draw: 0 };
  private graph: Graph | null = null;
  private visible: VisibleGraph | null = null;
  private placed: Layout | null = null;
  private direction: Direction = 'right';
  private readonly opened = new Set<string>();
  private selection: string[] = [];
  private matches: string[] = [];
  private matchIndex = -1;
  /** The node last acted on (opened, expanded, selected): a new layout keeps it in the middle of the view. */
  private anchor: string | null = null;
  /** Elements given a highlight class, and which, to take it off again. */
  private marked: Array<[Element, string]> = [];
  private readonly marker = `nbl-arrow-${++views}`;
  private readonly svg: SVGSVGElement;
  private readonly layer: SVGGElement;
  private readonly viewport: Viewport;
  private readonly pane: HTMLElement;
  private readonly status: HTMLElement;
  private readonly depthInput: HTMLInputElement;
  private readonly searchInput: HTMLInputElement;
  private readonly searchCount: HTMLElement;

  constructor(
    container: HTMLElement,
    private readonly host: GraphHost = {}
  ) {
    this.element = html('div', { class: 'nbl-graph' });
    this.searchInput = html('input', { type: 'search', placeholder: 'Search nodes', 'aria-label': 'search nodes' });
    this.searchCount = html('span', { class: 'nbl-search-count', 'aria-live': 'polite' });
    this.depthInput = html('input', { type: 'number', min: 1, max: MAX_DEPTH, value: 1, 'aria-label': 'depth' });
    this.element.appendChild(this.toolbar());
    const body = this.element.appendChild(html('div', { class: 'nbl-body' }));
    this.svg = body.appendChild(svg('svg', { class: 'nbl-canvas', role: 'img', 'aria-label': 'lineage graph' }));
    this.svg.appendChild(markers(this.marker));
    this.layer = this.svg.appendChild(svg('g'));
    this.pane = body.appendChild(html('aside', { class: 'nbl-details', hidden: 'hidden' }));
    this.status = this.element.appendChild(html('footer', { class: 'nbl-status' }));
    this.viewport = new Viewport(this.svg, this.layer);
    this.svg.addEventListener('click', event => this.onClick(event));
    this.svg.addEventListener('pointerover', event => this.addTooltip(event.target as Element));
    this.svg.addEventListener('keydown', event => {
      if (event.key === 'Enter' || event.key === ' ') {
        event.preventDefault();
        this.onClick(event);
      }
    });
    container.appendChild(this.element);
    new ResizeObserver(() => {
      if (this.graph && this.visible && this.placed) {
        const { boxes, links } = this.shapes(this.visible);
        if (this.choose(boxes, links).direction !== this.direction) {
          this.render(true);
        }
      }
    }).observe(this.svg);
  }

  /** The direction for the view's width now (`right` before the view is in the page). */
  private directionFits(): Direction {
    const width = this.svg.clientWidth;
    return width > 0 && width < NARROW ? 'down' : 'right';
  }

  /** The boxes and links of what is drawn. */
  private shapes(visible: VisibleGraph): { boxes: Map<string, Box>; links: Link[] } {
    const boxes = new Map([...visible.nodes.map(nodeBox), ...visible.groups.map(groupBox)].map(box => [box.id, box]));
    const links = visible.edges.map(edge => ({ key: edgeKey(edge), source: edge.source, target: edge.target }));
    return { boxes, links };
  }

  /** The layout to draw: flowing right, or down in a narrow view; a small graph is laid out both ways and drawn
   * the way it fits the view larger (a details pane beside it, a wide fan, a long chain). */
  private choose(boxes: Map<string, Box>, links: Link[]): { direction: Direction; placed: Layout } {
    const preferred = this.directionFits();
    const placed = layout([...boxes.values()], links, preferred);
    if (boxes.size > SMALL || !this.svg.clientWidth) {
      return { direction: preferred, placed };
    }
    const other: Direction = preferred === 'right' ? 'down' : 'right';
    const turned = layout([...boxes.values()], links, other);
    const scale = (candidate: Layout) => this.viewport.wholeScale(candidate.width, candidate.height);
    return scale(turned) > scale(placed) * 1.1
      ? { direction: other, placed: turned }
      : { direction: preferred, placed };
  }

  /** Show `graph`, keeping the opened fans, the selection and the search where their nodes remain. */
  setGraph(graph: Graph): void {
    const recentre = !this.graph || this.graph.center !== graph.center;
    this.graph = graph;
    this.depthInput.value = String(graph.depth);
    const ids = new Set(graph.nodes.map(node => node.id));
    this.selection = this.selection.filter(id => ids.has(id));
    if (!this.selection.length) {
      this.pane.hidden = true; // the details of a node no longer drawn
    }
    this.render(recentre);
  }

  /** Add `more` to the graph shown (merged by node id). */
  merge(more: Graph): void {
    this.setGraph(this.graph ? mergeGraphs(this.graph, more) : more);
  }

  /** Fit the whole graph in the view; in a narrow view, never so small that labels go, the centre node in the
   * middle when it cannot all fit. */
  fit(): void {
    if (!this.placed) {
      return;
    }
    const least = this.direction === 'down' ? READABLE : undefined;
    const centre = this.graph ? this.placed.nodes.get(this.graph.center) : undefined;
    if (!this.viewport.fit(this.placed.width, this.placed.height, least) && centre) {
      this.viewport.centreOn(centre, this.placed);
    }
  }

  /** Select a node as clicking it does (`add`: as a second node, for the path between them). */
  select(id: string, add = false): void {
    this.selection = add ? [...this.selection.filter(other => other !== id), id].slice(-2) : [id];
    this.anchor = id;
    this.host.selected?.(this.selection);
    this.highlight();
    void this.showDetails(id);
    const at = this.placed?.nodes.get(id);
    if (at) {
      this.viewport.reveal(at); // the details pane may have covered it
    }
  }

  private toolbar(): HTMLElement {
    const bar = html('div', { class: 'nbl-toolbar' });
    this.searchInput.addEventListener('input', () => this.search(this.searchInput.value));
    this.searchInput.addEventListener('keydown', event => {
      if (event.key === 'Enter') {
        this.nextMatch(event.shiftKey ? -1 : 1);
      }
    });
    bar.append(this.searchInput, this.searchCount);
    const depth = html('label', { class: 'nbl-depth' }, 'depth ');
    depth.appendChild(this.depthInput);
    this.depthInput.addEventListener('change', () => void this.changeDepth(Number(this.depthInput.value)));
    if (this.host.setDepth) {
      bar.appendChild(depth);
    }
    const button = (text: string, title: string, action: () => void) => {
      const element = html('button', { type: 'button', title, 'aria-label': title }, text);
      element.addEventListener('click', action);
      bar.appendChild(element);
    };
    button('+', 'zoom in', () => this.viewport.zoom(1.25));
    button('−', 'zoom out', () => this.viewport.zoom(0.8));
    button('Fit', 'fit the graph in the view', () => this.fit());
    bar.appendChild(legend());
    return bar;
  }

  private render(recentre: boolean): void {
    if (!this.graph) {
      return;
    }
    const started = performance.now();
    const visible = visibleGraph(this.graph, this.opened);
    const { boxes, links } = this.shapes(visible);
    const { direction, placed } = this.choose(boxes, links);
    this.direction = direction;
    const laidOut = performance.now();
    const drawing = document.createDocumentFragment();
    const edges = drawing.appendChild(svg('g', { class: 'nbl-edges' }));
    for (const edge of visible.edges) {
      edges.appendChild(drawEdge(edge, placed.edges.get(edgeKey(edge)) ?? [], this.marker, this.direction));
    }
    const nodes = drawing.appendChild(svg('g', { class: 'nbl-nodes' }));
    for (const node of visible.nodes) {
      const box = boxes.get(node.id);
      const at = placed.nodes.get(node.id);
      if (box && at) {
        nodes.appendChild(drawNode(node, box, at, Boolean(this.host.expand)));
      }
    }
    for (const group of visible.groups) {
      nodes.appendChild(drawGroup(group, groupBox(group), placed.nodes.get(group.id) ?? { x: 0, y: 0 }));
    }
    this.visible = visible;
    this.placed = placed;
    // placed before the drawing goes in, so measuring the view does not lay out thousands of new elements
    const anchored = this.anchor ? placed.nodes.get(this.anchor) : undefined;
    if (recentre || !anchored) {
      this.fit();
    } else {
      this.viewport.centreOn(anchored);
    }
    this.layer.replaceChildren(drawing);
    this.marked = [];
    this.highlight();
    this.timings = { layout: laidOut - started, draw: performance.now() - laidOut };
    this.showStatus();
  }

  private showStatus(): void {
    const graph = this.graph as Graph;
    const visible = this.visible as VisibleGraph;
    const parts = [`${graph.nodes.length} nodes, ${graph.edges.length} edges`];
    if (visible.folded.size) {
      parts.push(`${visible.folded.size} in "more" groups`);
    }
    if (graph.truncated) {
      parts.push('truncated at the node limit');
    }
    parts.push('click a node for details, Shift+click a second one for the path between them');
    this.status.textContent = parts.join(' · ');
  }

  private onClick(event: Event): void {
    const target = event.target as Element;
    const node = target.closest<SVGGElement>('.nbl-node');
    const id = node?.dataset.id;
    if (!node || !id) {
      return;
    }
    if (node.classList.contains('nbl-group')) {
      this.opened.add(id);
      this.anchor = this.visible?.groups.find(group => group.id === id)?.owner ?? null;
      this.render(false);
    } else if (target.closest('.nbl-expand')) {
      this.anchor = id;
      void this.expand(id);
    } else {
      this.select(id, (event as MouseEvent).shiftKey);
    }
  }

  /** Give the node or edge under the pointer its tooltip, once. */
  private addTooltip(target: Element): void {
    const edge = target.closest<SVGPathElement>('.nbl-edge');
    const node = target.closest<SVGGElement>('.nbl-node');
    const element = edge ?? node;
    if (!element || element.querySelector(':scope > title')) {
      return;
    }
    const known = node && this.graph?.nodes.find(candidate => candidate.id === node.dataset.id);
    const text = edge
      ? `precision: ${edge.dataset.precision}`
      : known
        ? titleOf(known)
        : (node?.getAttribute('aria-label') ?? '');
    element.insertBefore(svg('title', {}, text), element.firstChild);
  }

  private async expand(id: string): Promise<void> {
    if (!this.host.expand) {
      return;
    }
    this.status.textContent = 'expanding…';
    try {
      const more = await this.host.expand(id);
      if (more) {
        this.merge(more);
      }
    } catch (error) {
      this.status.textContent = `could not expand: ${String(error)}`;
    }
  }

  private async changeDepth(depth: number): Promise<void> {
    if (!this.host.setDepth || !Number.isInteger(depth) || depth < 1 || depth > MAX_DEPTH) {
      return;
    }
    this.status.textContent = 'loading…';
    try {
      const graph = await this.host.setDepth(depth);
      if (graph) {
        this.setGraph(graph);
      }
    } catch (error) {
      this.status.textContent = `could not change the depth: ${String(error)}`;
    }
  }

  /** Mark the selection, the path between two selected nodes and the search matches (only the elements
   * concerned are touched, so a big graph stays quick). */
  private highlight(): void {
    for (const [element, name] of this.marked) {
      element.classList.remove(name);
    }
    this.marked = [];
    const mark = (selector: string, name: string) => {
      const element = this.layer.querySelector(selector);
      if (element) {
        element.classList.add(name);
        this.marked.push([element, name]);
      }
    };
    const node = (id: string) => `.nbl-node[data-id="${CSS.escape(id)}"]`;
    this.selection.forEach(id => mark(node(id), 'nbl-selected'));
    if (this.selection.length === 2 && this.visible) {
      const path = findPath(this.visible.edges, this.selection[0], this.selection[1]);
      path.nodes.forEach(id => mark(node(id), 'nbl-on-path'));
      path.edges.forEach(key => mark(`.nbl-edge[data-key="${CSS.escape(key)}"]`, 'nbl-on-path'));
    }
    const matched = new Set(this.matches.map(id => this.visible?.folded.get(id) ?? id));
    matched.forEach(id => mark(node(id), 'nbl-match'));
    this.svg.classList.toggle('nbl-searching', matched.size > 0);
  }

  private search(query: string): void {
    this.matches = this.graph ? searchNodes(this.graph.nodes, query) : [];
    this.matchIndex = -1;
    this.searchCount.textContent = query.trim() ? `${this.matches.length} found` : '';
    this.highlight();
  }

  /** Centre the next node found (a node folded into a group opens the group). */
  private nextMatch(step: number): void {
    if (!this.matches.length) {
      return;
    }
    this.matchIndex = (this.matchIndex + step + this.matches.length) % this.matches.length;
    const id = this.matches[this.matchIndex];
    const group = this.visible?.folded.get(id);
    if (group) {
      this.opened.add(group);
      this.anchor = id;
      this.render(false);
    }
    const at = this.placed?.nodes.get(id);
    if (at) {
      this.viewport.centreOn(at);
    }
    this.searchCount.textContent = `${this.matchIndex + 1} of ${this.matches.length}`;
  }

  private async showDetails(id: string): Promise<void> {
    const node = this.graph?.nodes.find(candidate => candidate.id === id);
    if (!node || !this.graph) {
      return;
    }
    const close = () => {
      this.pane.hidden = true;
      this.selection = [];
      this.host.selected?.(this.selection);
      this.highlight();
    };
    this.pane.hidden = false;
    this.pane.replaceChildren(paneHeader(node, close), ...nodeSummary(node, this.graph));
    const actions = this.graph ? (this.host.actions?.(node, this.graph) ?? []) : [];
    if (actions.length) {
      const bar = this.pane.appendChild(html('div', { class: 'nbl-actions' }));
      for (const action of actions) {
        const button = bar.appendChild(
          html('button', { type: 'button', title: action.title ?? action.label }, action.label)
        );
        button.addEventListener('click', () => action.run());
      }
    }
    if (!this.host.details) {
      return;
    }
    const waiting = this.pane.appendChild(html('p', { class: 'nbl-loading' }, 'loading details…'));
    try {
      const details = await this.host.details(id);
      if (this.selection[this.selection.length - 1] === id && details) {
        waiting.replaceWith(...detailTables(details));
      } else {
        waiting.remove();
      }
    } catch (error) {
      waiting.textContent = `no details: ${String(error)}`;
    }
  }
}

function legend(): HTMLElement {
  const element = html('span', { class: 'nbl-legend' });
  for (const kind of ['dataset', 'model', 'cell', 'job'] as GraphNode['kind'][]) {
    element.appendChild(html('span', { class: `nbl-kind nbl-kind-${kind}` }, kind));
  }
  for (const precision of ['exact', 'cell', 'unknown']) {
    const item = element.appendChild(html('span', { class: 'nbl-legend-edge' }));
    const line = item.appendChild(svg('svg', { width: 22, height: 8 }));
    line.appendChild(svg('line', { x1: 0, y1: 4, x2: 22, y2: 4, class: `nbl-edge nbl-edge-${precision}` }));
    item.appendChild(document.createTextNode(` ${precision}`));
  }
  return element;
}
