/** Opening a notebook at a cell: the cell is made active, scrolled to and highlighted for a moment. */

import { JupyterFrontEnd } from '@jupyterlab/application';
import { NotebookPanel } from '@jupyterlab/notebook';

import { LineageClient } from './client';
import { relativeTo } from './refs';

const HIGHLIGHT_MS = 2500;

export function cellOpener(app: JupyterFrontEnd, client: LineageClient) {
  let root: Promise<string | undefined> | null = null;
  return async (notebook: string, cellId: string): Promise<void> => {
    root ??= client.status().then(status => status.root);
    const path = relativeTo(await root, notebook);
    if (path === null) {
      throw new Error(`${notebook} is outside the folder this Jupyter server serves`);
    }
    const widget = await app.commands.execute('docmanager:open', { path, factory: 'Notebook' });
    if (!(widget instanceof NotebookPanel)) {
      throw new Error(`${path} did not open as a notebook`);
    }
    await widget.context.ready;
    await widget.revealed;
    const content = widget.content;
    const index = content.widgets.findIndex(cell => cell.model.id === cellId);
    if (index < 0) {
      throw new Error(`${path} no longer has the cell ${cellId}`);
    }
    content.activeCellIndex = index;
    await content.scrollToItem(index, 'center');
    const cell = content.widgets[index];
    cell.addClass('nbl-highlighted-cell');
    window.setTimeout(() => cell.removeClass('nbl-highlighted-cell'), HIGHLIGHT_MS);
  };
}
