import { findPath, mergeGraphs, searchNodes, visibleGraph } from '../src/graph/model';
import { FAN_LIMIT } from '../src/graph/types';
import { edge, graph, node } from './graphs';

describe('mergeGraphs', () => {
  it('adds new nodes and edges once, keeps the centre, and takes the smaller hidden counts', () => {
    const hidden = { ...node('b'), hidden: { upstream: 0, downstream: 3 } };
    const base = graph('a', [node('a'), hidden], [edge('a', 'b')]);
    const more = graph('b', [node('b'), node('c')], [edge('a', 'b'), edge('b', 'c')]);
    const merged = mergeGraphs(base, more);
    expect(merged.center).toBe('a');
    expect(merged.nodes.map(n => n.id).sort()).toEqual(['a', 'b', 'c']);
    expect(merged.edges).toHaveLength(2);
    expect(merged.nodes.find(n => n.id === 'b')!.hidden.downstream).toBe(0);
  });
});

describe('visibleGraph', () => {
  it(`folds the neighbours of one side beyond ${FAN_LIMIT} into a group, and opens it on request`, () => {
    const inputs = Array.from({ length: FAN_LIMIT + 5 }, (_, i) => node(`in${i}`, 'dataset', -1));
    const model = node('model', 'model');
    const wide = graph('model', [model, ...inputs], inputs.map(input => edge(input.id, 'model')));
    const folded = visibleGraph(wide, new Set());
    expect(folded.groups).toHaveLength(1);
    expect(folded.groups[0].members).toHaveLength(5);
    expect(folded.nodes).toHaveLength(FAN_LIMIT + 1);
    const opened = visibleGraph(wide, new Set([folded.groups[0].id]));
    expect(opened.groups).toHaveLength(0);
    expect(opened.nodes).toHaveLength(FAN_LIMIT + 6);
  });
});

describe('findPath', () => {
  it('follows edges either way between two nodes, and finds nothing between unconnected ones', () => {
    const edges = [edge('raw', 'cell'), edge('cell', 'features'), edge('features', 'model'), edge('x', 'y')];
    const path = findPath(edges, 'model', 'raw');
    expect([...path.nodes].sort()).toEqual(['cell', 'features', 'model', 'raw']);
    expect(path.edges.size).toBe(3);
    expect(findPath(edges, 'raw', 'y').nodes.size).toBe(0);
  });
});

describe('searchNodes', () => {
  it('matches any part of a label or name, case-insensitively, and nothing for blank text', () => {
    const nodes = [node('customers.csv'), node('model.joblib', 'model'), node('Customers_2024.parquet')];
    expect(searchNodes(nodes, 'CUSTOMERS').sort()).toEqual(['Customers_2024.parquet', 'customers.csv']);
    expect(searchNodes(nodes, 'joblib')).toEqual(['model.joblib']);
    expect(searchNodes(nodes, '   ')).toEqual([]);
  });
});
