/**
 * Layered layout (Sugiyama style), left to right or, for a narrow view, top to bottom of the drawn graph, linear enough for thousands of nodes:
 * ranks by longest path, edges spanning several ranks routed through dummy points, barycentre sweeps against
 * crossings, and each rank's vertical positions fitted to its neighbours' by isotonic regression (pool adjacent
 * violators), which keeps the order and the spacing.
 */

export interface Box {
  id: string;
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

export interface Link {
  key: string;
  source: string;
  target: string;
}

export interface Layout {
  /** Centre of each node. */
  nodes: Map<string, Point>;
  /** Points each edge goes through, source side first, keyed by `Link.key`. */
  edges: Map<string, Point[]>;
  width: number;
  height: number;
}

const RANK_GAP = 70;
/** Ranks stacked down a narrow view sit closer: its height is what runs short. */
const RANK_GAP_DOWN = 40;
const NODE_GAP = 16;
const DUMMY_HEIGHT = 4;
const ORDER_SWEEPS = 8;
const POSITION_SWEEPS = 6;

interface Item {
  width: number;
  height: number;
  rank: number;
  up: number[];
  down: number[];
  y: number;
}

/** Which way data flows in the drawing: `right` for a wide view, `down` for a narrow one (a sidebar). */
export type Direction = 'right' | 'down';

export function layout(boxes: Box[], links: Link[], direction: Direction = 'right'): Layout {
  if (direction === 'right') {
    return layoutRight(boxes, links, RANK_GAP);
  }
  const turned = layoutRight(
    boxes.map(box => ({ id: box.id, width: box.height, height: box.width })),
    links,
    RANK_GAP_DOWN
  );
  const flip = (point: Point): Point => ({ x: point.y, y: point.x });
  return {
    nodes: new Map([...turned.nodes].map(([id, point]) => [id, flip(point)])),
    edges: new Map([...turned.edges].map(([key, points]) => [key, points.map(flip)])),
    width: turned.height,
    height: turned.width
  };
}

function layoutRight(boxes: Box[], links: Link[], rankGap: number): Layout {
  const index = new Map(boxes.map((box, i) => [box.id, i]));
  const items: Item[] = boxes.map(box => ({ width: box.width, height: box.height, rank: 0, up: [], down: [], y: 0 }));
  const pairs = links
    .map(link => [index.get(link.source), index.get(link.target), link.key] as const)
    .filter((pair): pair is [number, number, string] => pair[0] !== undefined && pair[1] !== undefined)
    .filter(([source, target]) => source !== target);
  const forward = acyclic(items.length, pairs);
  const directed = pairs.map(([source, target], i): [number, number] => (forward[i] ? [source, target] : [target, source]));
  assignRanks(items, directed);
  const chains = directed.map(([from, to]) => route(items, from, to));
  const ranks = orderRanks(items);
  const xs = rankPositions(items, ranks, rankGap);
  placeVertically(items, ranks);
  const top = Math.min(0, ...items.map(item => item.y - item.height / 2));
  const at = (i: number): Point => ({ x: xs[items[i].rank], y: items[i].y - top });
  const nodes = new Map(boxes.map((box, i) => [box.id, at(i)]));
  const edges = new Map<string, Point[]>();
  pairs.forEach(([source, target, key], i) => {
    const middle = chains[i].map(at);
    const [from, to] = [at(source), at(target)];
    edges.set(key, [
      { x: from.x + items[source].width / 2, y: from.y },
      ...(forward[i] ? middle : middle.reverse()),
      { x: to.x - items[target].width / 2, y: to.y }
    ]);
  });
  const height = Math.max(0, ...items.map(item => item.y - top + item.height / 2));
  const last = ranks.length - 1;
  const width = last < 0 ? 0 : xs[last] + Math.max(0, ...ranks[last].map(i => items[i].width)) / 2;
  return { nodes, edges, width, height };
}

/** Which links keep their direction: each that closes a cycle (found by depth-first search) is turned. */
function acyclic(count: number, pairs: Array<[number, number, string]>): boolean[] {
  const out: Array<Array<[number, number]>> = Array.from({ length: count }, () => []);
  pairs.forEach(([source, target], i) => out[source].push([target, i]));
  const state = new Uint8Array(count); // 0 not seen, 1 on the stack, 2 done
  const forward = pairs.map(() => true);
  for (let root = 0; root < count; root++) {
    if (state[root]) {
      continue;
    }
    const stack: Array<[number, number]> = [[root, 0]];
    state[root] = 1;
    while (stack.length) {
      const top = stack[stack.length - 1];
      const next = out[top[0]][top[1]++];
      if (!next) {
        state[top[0]] = 2;
        stack.pop();
      } else if (state[next[0]] === 1) {
        forward[next[1]] = false;
      } else if (!state[next[0]]) {
        state[next[0]] = 1;
        stack.push([next[0], 0]);
      }
    }
  }
  return forward;
}

/** Ranks by longest path from the sources; a source then moves right up to its first consumer. */
function assignRanks(items: Item[], directed: Array<[number, number]>): void {
  const into = new Array<number>(items.length).fill(0);
  const out: number[][] = items.map(() => []);
  for (const [from, to] of directed) {
    out[from].push(to);
    into[to]++;
  }
  const sources = into.map(count => count === 0);
  const queue = items.map((_, i) => i).filter(i => into[i] === 0);
  for (let head = 0; head < queue.length; head++) {
    const from = queue[head];
    for (const to of out[from]) {
      items[to].rank = Math.max(items[to].rank, items[from].rank + 1);
      if (--into[to] === 0) {
        queue.push(to);
      }
    }
  }
  items.forEach((item, i) => {
    if (sources[i] && out[i].length) {
      item.rank = Math.min(...out[i].map(to => items[to].rank)) - 1;
    }
  });
}

/** Joins `from` to `to` through one dummy item per rank in between; the dummies' indices. */
function route(items: Item[], from: number, to: number): number[] {
  const dummies: number[] = [];
  let previous = from;
  for (let rank = items[from].rank + 1; rank < items[to].rank; rank++) {
    const dummy = items.push({ width: 0, height: DUMMY_HEIGHT, rank, up: [previous], down: [], y: 0 }) - 1;
    items[previous].down.push(dummy);
    dummies.push(dummy);
    previous = dummy;
  }
  items[previous].down.push(to);
  items[to].up.push(previous);
  return dummies;
}

/** Items by rank, each rank ordered to cut crossings (barycentres of the neighbours, down then up). */
function orderRanks(items: Item[]): number[][] {
  const ranks: number[][] = [];
  const seen = new Uint8Array(items.length);
  const visit = (start: number) => {
    const stack = [start];
    while (stack.length) {
      const i = stack.pop() as number;
      if (seen[i]) {
        continue;
      }
      seen[i] = 1;
      (ranks[items[i].rank] ??= []).push(i);
      stack.push(...items[i].down, ...items[i].up);
    }
  };
  items.forEach((_, i) => visit(i));
  const filled = ranks.filter(Boolean);
  filled.forEach((rank, r) => rank.forEach(i => (items[i].rank = r)));
  const position = new Float64Array(items.length);
  const number = (rank: number[]) => rank.forEach((i, at) => (position[i] = at));
  filled.forEach(number);
  for (let sweep = 0; sweep < ORDER_SWEEPS; sweep++) {
    const down = sweep % 2 === 0;
    const order = down ? filled.slice(1) : filled.slice(0, -1).reverse();
    for (const rank of order) {
      const weight = new Map(rank.map(i => [i, barycentre(down ? items[i].up : items[i].down, position, position[i])]));
      rank.sort((a, b) => (weight.get(a) as number) - (weight.get(b) as number));
      number(rank);
    }
  }
  return filled;
}

function barycentre(neighbours: number[], position: Float64Array, fallback: number): number {
  if (!neighbours.length) {
    return fallback;
  }
  let sum = 0;
  for (const i of neighbours) {
    sum += position[i];
  }
  return sum / neighbours.length;
}

/** The x of each rank's centre line: ranks as wide as their widest item, `gap` apart. */
function rankPositions(items: Item[], ranks: number[][], gap: number): number[] {
  const xs: number[] = [];
  let left = 0;
  for (const rank of ranks) {
    const width = Math.max(0, ...rank.map(i => items[i].width));
    xs.push(left + width / 2);
    left += width + gap;
  }
  return xs;
}

/** Each item's y: packed first, then moved towards its neighbours' mean, sweeping down and up. */
function placeVertically(items: Item[], ranks: number[][]): void {
  for (const rank of ranks) {
    fit(items, rank, rank.map(() => 0));
  }
  for (let sweep = 0; sweep < POSITION_SWEEPS; sweep++) {
    const down = sweep % 2 === 0;
    for (const rank of down ? ranks.slice(1) : ranks.slice(0, -1).reverse()) {
      const wanted = rank.map(i => {
        const near = down ? items[i].up : items[i].down;
        return near.length ? near.reduce((sum, j) => sum + items[j].y, 0) / near.length : items[i].y;
      });
      fit(items, rank, wanted);
    }
  }
}

/**
 * Puts the items of one rank, in order and NODE_GAP apart, as close as can be (least squares) to the `wanted` y
 * of each: the pool-adjacent-violators algorithm on the wanted positions minus each item's least offset.
 */
function fit(items: Item[], rank: number[], wanted: number[]): void {
  const offsets: number[] = [];
  let offset = 0;
  rank.forEach((i, at) => {
    if (at > 0) {
      offset += items[rank[at - 1]].height / 2 + NODE_GAP + items[i].height / 2;
    }
    offsets.push(offset);
  });
  const blocks: Array<{ sum: number; count: number }> = [];
  rank.forEach((_, at) => {
    blocks.push({ sum: wanted[at] - offsets[at], count: 1 });
    while (blocks.length > 1) {
      const [a, b] = blocks.slice(-2);
      if (a.sum / a.count <= b.sum / b.count) {
        break;
      }
      blocks.splice(-2, 2, { sum: a.sum + b.sum, count: a.count + b.count });
    }
  });
  let at = 0;
  for (const block of blocks) {
    for (let k = 0; k < block.count; k++, at++) {
      items[rank[at]].y = block.sum / block.count + offsets[at];
    }
  }
}
