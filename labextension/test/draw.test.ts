import { drawNode, nodeBox, titleOf } from '../src/graph/draw';
import { GraphNode } from '../src/graph/types';

const node = (extra: Partial<GraphNode>): GraphNode => ({
  id: 'n1',
  kind: 'dataset',
  namespace: 'file',
  name: '/data/customers.csv',
  label: 'customers.csv',
  version: 'v1',
  depth: 0,
  precision: null,
  hidden: { upstream: 0, downstream: 0 },
  ...extra
});

describe('badges', () => {
  it('draws the tags over the node and its quality on its corner, and says both', () => {
    const drawn = node({ tags: ['confidential', 'pii', 'gdpr'], quality: 'failed' });
    const group = drawNode(drawn, nodeBox(drawn), { x: 0, y: 0 }, false);
    const tags = group.querySelector('.nbl-tags')!;
    expect(tags.textContent).toBe('confidential · pii +1');
    expect(tags.classList.contains('nbl-sensitive')).toBe(true);
    expect(group.querySelector('.nbl-quality-failed')).not.toBeNull();
    expect(group.getAttribute('aria-label')).toContain('quality failed');
    expect(titleOf(drawn)).toContain('tags: confidential, pii, gdpr');
  });

  it('draws nothing for a node without badges, and a hostile tag as text', () => {
    const plain = drawNode(node({}), nodeBox(node({})), { x: 0, y: 0 }, false);
    expect(plain.querySelector('.nbl-tags, .nbl-quality')).toBeNull();
    const hostile = node({ tags: ['<img src=x onerror=alert(1)>'], quality: 'passed' });
    const group = drawNode(hostile, nodeBox(hostile), { x: 0, y: 0 }, false);
    expect(group.querySelector('img')).toBeNull();
    expect(group.querySelector('.nbl-tags')!.textContent).toContain('<img');
    expect(group.querySelector('.nbl-quality-passed')).not.toBeNull();
  });
});
