import { layout } from '../src/graph/layout';

const box = (id: string) => ({ id, width: 100, height: 30 });
const link = (source: string, target: string) => ({ key: `${source}>${target}`, source, target });

describe('layout', () => {
  it('places data left to right in the order it flows, boxes apart', () => {
    const placed = layout(['model', 'raw', 'cell'].map(box), [link('raw', 'cell'), link('cell', 'model')]);
    const x = (id: string) => placed.nodes.get(id)!.x;
    expect(x('raw')).toBeLessThan(x('cell'));
    expect(x('cell')).toBeLessThan(x('model'));
    expect(placed.edges.size).toBe(2);
    expect(placed.width).toBeGreaterThan(300);
  });

  it('keeps boxes of one rank from overlapping', () => {
    const sources = ['a', 'b', 'c', 'd'];
    const placed = layout([...sources, 'm'].map(box), sources.map(id => link(id, 'm')));
    const ys = sources.map(id => placed.nodes.get(id)!.y).sort((p, q) => p - q);
    for (let i = 1; i < ys.length; i++) {
      expect(ys[i] - ys[i - 1]).toBeGreaterThanOrEqual(30);
    }
  });

  it('survives a cycle (a job that reads and writes the same table)', () => {
    const placed = layout(['t', 'job'].map(box), [link('t', 'job'), link('job', 't')]);
    expect(placed.nodes.size).toBe(2);
  });

  it('turns the drawing for a narrow view: data flows down, edges leave a box at its bottom', () => {
    const placed = layout(['raw', 'cell', 'model'].map(box), [link('raw', 'cell'), link('cell', 'model')], 'down');
    const at = (id: string) => placed.nodes.get(id)!;
    expect(at('raw').y).toBeLessThan(at('cell').y);
    expect(at('cell').y).toBeLessThan(at('model').y);
    expect(at('raw').x).toBe(at('model').x);
    const edge = placed.edges.get('raw>cell')!;
    expect(edge[0]).toEqual({ x: at('raw').x, y: at('raw').y + 15 });
    expect(edge[edge.length - 1]).toEqual({ x: at('cell').x, y: at('cell').y - 15 });
    expect(placed.height).toBeGreaterThan(placed.width);
  });
});
