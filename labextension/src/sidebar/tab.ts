/** The lineage graph around one node in a main-area tab: the sidebar's graph with the room of the whole area. */

import { MainAreaWidget } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { html } from '../graph/dom';
import { LineageClient } from './client';
import { NodeRef } from './refs';
import { lineageIcon } from './icon';
import { CellOpener, ServerGraph } from './servergraph';

export function graphTab(client: LineageClient, center: NodeRef, depth: number, openCell?: CellOpener) {
  const content = new Widget();
  content.addClass('nbl-graph-tab');
  const message = html('p', { class: 'nbl-sidebar-message nbl-problem', role: 'status', hidden: 'hidden' });
  const graph = new ServerGraph(
    content.node,
    client,
    error => {
      message.textContent = error instanceof Error ? error.message : String(error);
      message.hidden = false;
    },
    openCell
  );
  content.node.insertBefore(message, content.node.firstChild);
  const widget = new MainAreaWidget({ content });
  widget.id = `nblineage-graph-${Date.now()}`;
  widget.title.label = `Lineage: ${center.name.slice(center.name.lastIndexOf('/') + 1) || center.name}`;
  widget.title.caption = `the lineage of ${center.name}`;
  widget.title.icon = lineageIcon;
  widget.title.closable = true;
  void graph.show(center, depth).catch(error => {
    message.textContent = error instanceof Error ? error.message : String(error);
    message.hidden = false;
  });
  return widget;
}
