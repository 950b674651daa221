/**
 * The JupyterLab plugins of nblineage: the lineage sidebar in the left area, a palette command to open it and a
 * keyboard shortcut (Alt Shift L), the panel following the active notebook cell; and comm handling handed over to a
 * kernel's remaining connection, so the notebook's widgets show after JupyterLab replaced its session (comms.ts).
 */

import { ILabShell, JupyterFrontEnd, JupyterFrontEndPlugin } from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { INotebookTracker, NotebookActions } from '@jupyterlab/notebook';

import { LineageClient } from './client';
import { handOverComms } from './comms';
import { lineageIcon } from './icon';
import { cellOpener } from './open';
import { graphTab } from './tab';
import { LineagePanel } from './panel';

const OPEN = 'nblineage:open-sidebar';

const plugin: JupyterFrontEndPlugin<void> = {
  id: 'nblineage:sidebar',
  description: 'The lineage sidebar: search datasets, models and notebooks and see their lineage.',
  autoStart: true,
  requires: [ILabShell],
  optional: [ICommandPalette, INotebookTracker],
  activate: (
    app: JupyterFrontEnd,
    shell: ILabShell,
    palette: ICommandPalette | null,
    notebooks: INotebookTracker | null
  ) => {
    const client = new LineageClient(app.serviceManager.serverSettings);
    const openCell = cellOpener(app, client);
    const panel = new LineagePanel(client, openCell, (center, depth) => {
      shell.add(graphTab(client, center, depth, openCell), 'main');
    });
    panel.id = 'nblineage-sidebar';
    panel.title.icon = lineageIcon;
    panel.title.caption = 'Lineage';
    shell.add(panel, 'left', { rank: 650 });
    app.commands.addCommand(OPEN, {
      label: 'Show Lineage',
      caption: 'Open the lineage sidebar',
      // After the saved layout is restored: activated before, the restore would put the left area back as it was
      execute: async () => {
        await app.restored;
        shell.activateById(panel.id);
      }
    });
    app.commands.addKeyBinding({ command: OPEN, keys: ['Alt Shift L'], selector: 'body' });
    palette?.addItem({ command: OPEN, category: 'Lineage' });
    // It follows the user: the active cell's lineage, drawn again after a cell runs (nothing runs in the kernel).
    notebooks?.activeCellChanged.connect((_, cell) => {
      if (cell) {
        void panel.followCell(cell.model.id);
      }
    });
    NotebookActions.executed.connect((_, { cell }) => panel.cellRan(cell.model.id));
  }
};

const comms: JupyterFrontEndPlugin<void> = {
  id: 'nblineage:comms-handover',
  description: "Comm handling handed to a kernel's remaining connection (widgets show after a session is replaced).",
  autoStart: true,
  activate: (app: JupyterFrontEnd) => handOverComms(app.serviceManager.kernels)
};

export default [plugin, comms];
