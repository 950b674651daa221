import { LineageClient, NodeRef } from '../src/sidebar/client';
import { ServerGraph } from '../src/sidebar/servergraph';
import { Graph } from '../src/graph/types';
import { graph, node } from './graphs';

/** A client whose graph answers come when the test says, in any order. */
function slowClient(): { client: LineageClient; answer: (name: string) => void } {
  const waiting = new Map<string, () => void>();
  const client = {
    graph: (ref: NodeRef) =>
      new Promise<Graph>(resolve => {
        const id = ref.name.split('/').pop()!;
        waiting.set(ref.name, () => resolve(graph(id, [node(id)], [])));
      })
  } as unknown as LineageClient;
  return { client, answer: name => waiting.get(name)!() };
}

// jsdom has no ResizeObserver; the view only uses it to fit the graph again when its box is resized
(globalThis as { ResizeObserver?: unknown }).ResizeObserver ??= class {
  observe(): void {}
  disconnect(): void {}
};

const ref = (name: string): NodeRef => ({ kind: 'dataset', namespace: 'file', name });

describe('ServerGraph', () => {
  it('draws the node asked for last when an earlier answer comes late', async () => {
    const { client, answer } = slowClient();
    const view = new ServerGraph(document.createElement('div'), client, error => {
      throw error;
    });
    const first = view.show(ref('/data/followed-cell'));
    const chosen = view.show(ref('/data/chosen'));
    answer('/data/chosen');
    expect(await chosen).toBe(true);
    answer('/data/followed-cell');
    expect(await first).toBe(false);
    expect(view.center?.name).toBe('/data/chosen');
  });

  it('drops a refresh of the old centre once the graph has moved', async () => {
    const { client, answer } = slowClient();
    const view = new ServerGraph(document.createElement('div'), client, error => {
      throw error;
    });
    const shown = view.show(ref('/data/a'));
    answer('/data/a');
    await shown;
    const refreshed = view.refresh();
    const moved = view.show(ref('/data/b'));
    answer('/data/b');
    await moved;
    answer('/data/a');
    await refreshed;
    expect(view.center?.name).toBe('/data/b');
    expect(view.view.element.querySelectorAll('.nbl-node').length).toBe(1);
    expect(view.view.element.querySelector('.nbl-node .nbl-label')?.textContent).toBe('b');
  });
});
