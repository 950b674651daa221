/** Drawing the laid-out graph as SVG: one group per node (kind as shape and class), one path per edge. */

import { shorten, shortVersion, svg } from './dom';
import { Box, Direction, Point } from './layout';
import { edgeKey, FanGroup } from './model';
import { GraphEdge, GraphNode } from './types';

const LABEL_LIMIT = 28;
const CHAR_WIDTH = 7;

const KIND_TAG: Record<GraphNode['kind'], string> = { dataset: 'dataset', model: 'model', cell: 'cell', job: 'job' };

/** The size a node is drawn at. */
export function nodeBox(node: GraphNode): Box {
  const tall = node.kind === 'dataset' || node.kind === 'model';
  const text = Math.max(shorten(node.label, LABEL_LIMIT).length, tall ? 16 : 6);
  return { id: node.id, width: text * CHAR_WIDTH + 28, height: tall ? 42 : 28 };
}

export function groupBox(group: FanGroup): Box {
  return { id: group.id, width: 90, height: 28 };
}

/** The SVG group of one node; `expandable` adds its expand control. */
export function drawNode(node: GraphNode, box: Box, at: Point, expandable: boolean): SVGGElement {
  const tall = box.height > 30;
  const group = nodeGroup(node.id, `nbl-node nbl-${node.kind}`, at);
  group.setAttribute('aria-label', [`${KIND_TAG[node.kind]} ${node.name}`, ...badgeWords(node)].join(', '));
  group.appendChild(shape(node.kind, box));
  drawBadges(group, node, box);
  group.appendChild(svg('text', { x: 0, y: tall ? -3 : 4, class: 'nbl-label' }, shorten(node.label, LABEL_LIMIT)));
  if (tall) {
    group.appendChild(svg('text', { x: 0, y: 13, class: 'nbl-version' }, shortVersion(node.version)));
  }
  const hidden = node.hidden.upstream + node.hidden.downstream;
  if (expandable && hidden > 0) {
    const control = svg('g', { class: 'nbl-expand', transform: `translate(${box.width / 2} ${-box.height / 2})` });
    control.appendChild(svg('title', {}, `show ${hidden} more neighbour${hidden === 1 ? '' : 's'}`));
    control.appendChild(svg('circle', { r: 8 }));
    control.appendChild(svg('text', { y: 4 }, '+'));
    group.appendChild(control);
  }
  return group;
}

/** Badges: the classification tags above the node's top left corner, a quality mark on that corner. */
function drawBadges(group: SVGGElement, node: GraphNode, box: Box): void {
  const [left, top] = [-box.width / 2, -box.height / 2];
  const tags = node.tags ?? [];
  if (tags.length) {
    const shown = tags.length > 2 ? `${tags.slice(0, 2).join(' · ')} +${tags.length - 2}` : tags.join(' · ');
    const sensitive = tags.some(tag => SENSITIVE.has(tag.toLowerCase()));
    const text = svg('text', { x: left + 12, y: top - 3, class: `nbl-tags${sensitive ? ' nbl-sensitive' : ''}` });
    text.textContent = shorten(shown, LABEL_LIMIT);
    group.appendChild(text);
  }
  if (node.quality) {
    const mark = svg('g', { class: `nbl-quality nbl-quality-${node.quality}`, transform: `translate(${left} ${top})` });
    mark.appendChild(svg('circle', { r: 7 }));
    mark.appendChild(svg('text', { y: 4 }, node.quality === 'passed' ? '✓' : '!'));
    group.appendChild(mark);
  }
}

/** Tags drawn in the warning colour. */
const SENSITIVE = new Set(['pii', 'confidential', 'restricted', 'sensitive', 'secret']);

/** The badges in words, for the node's accessible name and tooltip. */
function badgeWords(node: GraphNode): string[] {
  const words = node.tags?.length ? [`tags: ${node.tags.join(', ')}`] : [];
  return node.quality ? [...words, `quality ${node.quality}`] : words;
}

export function drawGroup(group: FanGroup, box: Box, at: Point): SVGGElement {
  const element = nodeGroup(group.id, 'nbl-node nbl-group', at);
  const text = `${group.members.length} more`;
  element.setAttribute('aria-label', `${text} ${group.side}: open`);
  element.appendChild(svg('rect', { x: -box.width / 2, y: -box.height / 2, width: box.width, height: box.height, rx: 6 }));
  element.appendChild(svg('text', { x: 0, y: 4, class: 'nbl-label' }, text));
  return element;
}

function nodeGroup(id: string, classes: string, at: Point): SVGGElement {
  const group = svg('g', { class: classes, transform: `translate(${at.x} ${at.y})`, tabindex: 0, role: 'button' });
  group.dataset.id = id;
  return group;
}

/** The tooltip of a node (made when the pointer first comes over it: thousands of titles slow the first drawing). */
export function titleOf(node: GraphNode): string {
  const lines = [`${KIND_TAG[node.kind]}: ${node.name}`, `namespace: ${node.namespace}`];
  if (node.version) {
    lines.push(`version: ${node.version}`);
  }
  if (node.precision) {
    lines.push(`precision: ${node.precision}`);
  }
  lines.push(...badgeWords(node));
  return lines.join('\n');
}

function shape(kind: GraphNode['kind'], box: Box): SVGElement {
  const [w, h] = [box.width / 2, box.height / 2];
  if (kind === 'job') {
    const cut = 10;
    const points = [
      [-w + cut, -h],
      [w - cut, -h],
      [w, 0],
      [w - cut, h],
      [-w + cut, h],
      [-w, 0]
    ];
    return svg('polygon', { points: points.map(p => p.join(',')).join(' ') });
  }
  const radius = { dataset: 3, model: 10, cell: h, job: 0 }[kind];
  return svg('rect', { x: -w, y: -h, width: box.width, height: box.height, rx: radius });
}

/** One edge: its class says its precision (`exact` solid, `cell` dashed, unknown dotted), its tooltip says it too. */
export function drawEdge(edge: GraphEdge, points: Point[], marker: string, direction: Direction = 'right'): SVGPathElement {
  const precision = edge.precision ?? 'unknown';
  const d = curve(points, direction);
  const path = svg('path', { class: `nbl-edge nbl-edge-${precision}`, d, 'marker-end': `url(#${marker})` });
  path.dataset.key = edgeKey(edge);
  path.dataset.precision = precision;
  return path;
}

/** A smooth line through `points`, leaving and entering each along the flow (horizontally when data flows right,
 * vertically when it flows down). */
function curve(points: Point[], direction: Direction): string {
  if (!points.length) {
    return '';
  }
  let d = `M${points[0].x},${points[0].y}`;
  for (let i = 1; i < points.length; i++) {
    const [p, q] = [points[i - 1], points[i]];
    if (direction === 'right') {
      const bend = (q.x - p.x) / 2;
      d += ` C${p.x + bend},${p.y} ${q.x - bend},${q.y} ${q.x},${q.y}`;
    } else {
      const bend = (q.y - p.y) / 2;
      d += ` C${p.x},${p.y + bend} ${q.x},${q.y - bend} ${q.x},${q.y}`;
    }
  }
  return d;
}

/** Arrow heads, one per precision so each takes its edge's colour. */
export function markers(prefix: string): SVGDefsElement {
  const defs = svg('defs');
  const marker = svg('marker', {
    id: prefix,
    viewBox: '0 0 10 10',
    refX: 9,
    refY: 5,
    markerUnits: 'userSpaceOnUse', // the same size on a thick (highlighted) edge
    markerWidth: 9,
    markerHeight: 9,
    orient: 'auto-start-reverse'
  });
  marker.appendChild(svg('path', { d: 'M0,0 L10,5 L0,10 z', class: 'nbl-arrow' }));
  defs.appendChild(marker);
  return defs;
}
