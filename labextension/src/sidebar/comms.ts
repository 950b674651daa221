/**
 * Comm handling handed over to a kernel's remaining connection.
 *
 * JupyterLab lets only one connection to a kernel handle comm messages (what widgets, nblineage's graph among them,
 * run on): a connection made while another one handles them is made without. On a busy machine JupyterLab can
 * replace a notebook's session while its kernel starts, making the new connection before disposing of the old one;
 * the notebook is then left on a connection that drops every comm, and each widget shows "model not found" until
 * the page is reloaded. `handOverComms` gives comm handling to the newest remaining connection of a kernel when the
 * one that handled them is disposed, with the comm targets registered on it meanwhile (the widget manager's).
 * Connections opened without comms on purpose (`handleComms: false`) are left alone.
 */

import { Kernel } from '@jupyterlab/services';

type Target = (comm: Kernel.IComm, msg: any) => void | PromiseLike<void>;

/** A connection made through the manager; `targets` is set while it waits without comms for its turn. */
interface Tracked {
  connection: Kernel.IKernelConnection;
  targets: Map<string, Target> | null;
}

export function handOverComms(kernels: Kernel.IManager): void {
  const tracked: Tracked[] = [];
  const connectTo = kernels.connectTo.bind(kernels);
  kernels.connectTo = (options: Kernel.IKernelConnection.IOptions) => {
    const connection = connectTo(options);
    const waiting = options.handleComms === undefined && !connection.handleComms;
    const item = { connection, targets: waiting ? keepTargets(connection) : null };
    tracked.push(item);
    connection.disposed.connect(() => {
      tracked.splice(tracked.indexOf(item), 1);
      if (connection.handleComms) {
        handOver(connection.id);
      }
    });
    return connection;
  };

  function handOver(id: string): void {
    const live = tracked.filter(item => item.connection.id === id && !item.connection.isDisposed);
    const heir = live.filter(item => item.targets !== null).pop();
    if (!heir || live.some(item => item.connection.handleComms)) {
      return;
    }
    const targets = heir.targets!;
    heir.targets = null;
    heir.connection.handleComms = true;
    for (const [name, callback] of targets) {
      heir.connection.registerCommTarget(name, callback);
    }
  }
}

/** The comm targets registered on a connection without comms (which drops them), kept for a hand-over. */
function keepTargets(connection: Kernel.IKernelConnection): Map<string, Target> {
  const targets = new Map<string, Target>();
  const register = connection.registerCommTarget.bind(connection);
  const remove = connection.removeCommTarget.bind(connection);
  connection.registerCommTarget = (name: string, callback: Target) => {
    targets.set(name, callback);
    register(name, callback);
  };
  connection.removeCommTarget = (name: string, callback: Target) => {
    if (targets.get(name) === callback) {
      targets.delete(name);
    }
    remove(name, callback);
  };
  return targets;
}
