/**
 * @jest-environment node
 */
import { ServerConnection } from '@jupyterlab/services';

import { LineageClient, LineageError } from '../src/sidebar/client';

/** A client whose server answers with `respond` (what each request asked is kept in `asked`). */
function clientAnswering(respond: (url: string) => Response): { client: LineageClient; asked: string[] } {
  const asked: string[] = [];
  const settings = ServerConnection.makeSettings({
    baseUrl: 'http://lab.test/',
    token: 'secret-token',
    fetch: async (input: RequestInfo | URL) => {
      const url = String(input instanceof Request ? input.url : input);
      asked.push(url);
      return respond(url);
    }
  });
  return { client: new LineageClient(settings), asked };
}

const json = (body: unknown, status = 200) =>
  new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });

describe('LineageClient', () => {
  it('asks the graph of a node with its query and depth', async () => {
    const { client, asked } = clientAnswering(() => json({ center: 'a', depth: 2, nodes: [], edges: [], truncated: false }));
    const graph = await client.graph({ kind: 'dataset', namespace: 'file', name: '/d/x y.csv' }, 2);
    expect(graph.depth).toBe(2);
    const url = new URL(asked[0]);
    expect(url.pathname).toBe('/nblineage/api/graph');
    expect(url.searchParams.get('node')).toBe('/d/x y.csv');
    expect(url.searchParams.get('depth')).toBe('2');
  });

  it("says the server's own error, and tells a missing extension from a missing node", async () => {
    const { client } = clientAnswering(url =>
      url.includes('/graph') ? json({ code: 404, message: 'no dataset file:/x' }, 404) : new Response('nope', { status: 404 })
    );
    const missingNode = await client.graph({ kind: 'dataset', namespace: 'file', name: '/x' }).catch(error => error);
    expect(missingNode).toBeInstanceOf(LineageError);
    expect(missingNode.message).toBe('no dataset file:/x');
    expect(missingNode.extensionMissing).toBe(false);
    const missingExtension = await client.status().catch(error => error);
    expect(missingExtension.extensionMissing).toBe(true);
  });

  it('downloads a report with the name the server gives it', async () => {
    const { client, asked } = clientAnswering(
      () =>
        new Response('<html>report</html>', {
          headers: { 'Content-Type': 'text/html', 'Content-Disposition': 'attachment; filename="churn-report.html"' }
        })
    );
    const { blob, filename } = await client.report({ kind: 'model', namespace: 'file', name: '/m/churn.joblib' }, 'html');
    expect(filename).toBe('churn-report.html');
    expect(await blob.text()).toBe('<html>report</html>');
    expect(new URL(asked[0]).searchParams.get('format')).toBe('html');
  });

  it('a failed report says why', async () => {
    const { client } = clientAnswering(() => json({ code: 400, message: 'a report is about a model or a dataset' }, 400));
    const failed = await client.report({ kind: 'cell', namespace: 'jupyter', name: '/n.ipynb#c1' }, 'pdf').catch(e => e);
    expect(failed.status).toBe(400);
    expect(failed.message).toContain('model or a dataset');
  });
});
