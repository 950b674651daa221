/**
 * The anywidget entry of nblineage's notebook widgets (nblineage/widgets/graph.py): the lineage graph, whose host
 * is the kernel (custom messages answered by the governance functions), and the answer tables. `renderStatic`
 * draws a saved page (`to_html`) from embedded data, with no kernel.
 */

import { answerTables } from './graph/answers';
import { sortableTable } from './graph/table';
import { Graph, GraphHost, NodeDetails } from './graph/types';
import { GraphView } from './graph/view';

/** The part of anywidget's model this entry uses. */
interface Model {
  get(name: string): any;
  set(name: string, value: unknown): void;
  save_changes(): void;
  send(content: unknown): void;
  on(event: string, callback: (...args: any[]) => void): void;
  off(event: string, callback: (...args: any[]) => void): void;
}

interface Reply {
  type: 'reply';
  request: number;
  error?: string;
  details?: NodeDetails;
}

function render({ model, el }: { model: Model; el: HTMLElement }): () => void {
  if (model.get('_view') === 'answers') {
    return renderAnswers(model, el);
  }
  const kernel = new KernelHost(model);
  const view = new GraphView(el, kernel.host);
  const redraw = () => view.setGraph(model.get('graph') as Graph);
  redraw();
  model.on('change:graph', redraw);
  return () => {
    model.off('change:graph', redraw);
    kernel.close();
  };
}

/** Requests to the kernel as custom messages, each answered by a reply with the same request number. */
class KernelHost {
  private next = 0;
  private readonly waiting = new Map<number, (reply: Reply) => void>();
  private readonly listener = (message: Reply) => {
    if (message?.type === 'reply') {
      this.waiting.get(message.request)?.(message);
      this.waiting.delete(message.request);
    }
  };

  constructor(private readonly model: Model) {
    model.on('msg:custom', this.listener);
  }

  readonly host: GraphHost = {
    expand: async id => {
      await this.ask({ type: 'expand', id });
      return null; // the kernel updates the `graph` trait
    },
    details: async id => (await this.ask({ type: 'details', id })).details ?? null,
    setDepth: async depth => {
      await this.ask({ type: 'depth', depth });
      return null;
    },
    selected: ids => {
      this.model.set('selection', ids);
      this.model.save_changes();
    }
  };

  close(): void {
    this.model.off('msg:custom', this.listener);
  }

  private ask(content: Record<string, unknown>): Promise<Reply> {
    const request = ++this.next;
    return new Promise((resolve, reject) => {
      this.waiting.set(request, reply => (reply.error ? reject(new Error(reply.error)) : resolve(reply)));
      this.model.send({ ...content, request });
    });
  }
}

function renderAnswers(model: Model, el: HTMLElement): () => void {
  const draw = () => {
    const tables = answerTables(model.get('answers') ?? {}).map(sortableTable);
    el.replaceChildren(...tables);
    el.classList.add('nbl-answers');
  };
  draw();
  model.on('change:answers', draw);
  return () => model.off('change:answers', draw);
}

/** A saved page: the graph and the details known when it was saved, no kernel to ask for more. */
export function renderStatic(el: HTMLElement, state: { graph: Graph; details: Record<string, NodeDetails> }): GraphView {
  const view = new GraphView(el, {
    details: async id => state.details[id] ?? null
  });
  view.setGraph(state.graph);
  return view;
}

export { GraphView };
export default { render };
