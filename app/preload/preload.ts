/**
 * The preload of RxGate's windows: exposes exactly one `AgentBridge` as `window.rxgate`, one
 * method per message, each a single `ipcRenderer` call on its own channel. The page never sees
 * `ipcRenderer` or the IPC event objects.
 *
 * A sandboxed preload may `require` only `electron`, so this file imports nothing else at run
 * time: the channel names are spelled out here and checked against the main process's
 * contract (app/main/ipc-contract.ts) by `satisfies`, which makes a mismatch a compile error.
 */
import { contextBridge, ipcRenderer, type IpcRendererEvent } from 'electron';
import type { DoctorChoice } from '../core/protocol/messages';
import type { AgentBridge, BridgeReply, PendingChange, PendingView, StatusView } from '../core/protocol/ui';
import type { EventChannels, InvokeChannels } from '../main/ipc-contract';

const invoke = {
  getPending: 'rxgate:get-pending',
  getStatus: 'rxgate:get-status',
  decide: 'rxgate:decide',
  syncNow: 'rxgate:sync-now',
} as const satisfies InvokeChannels;

const events = {
  pending: 'rxgate:pending',
  status: 'rxgate:status',
} as const satisfies EventChannels;

/** Subscribes to a push channel; the listener gets the payload only, never the IPC event. */
function subscribe<T>(channel: string, listener: (value: T) => void): () => void {
  const handler = (_event: IpcRendererEvent, value: T) => listener(value);
  ipcRenderer.on(channel, handler);
  return () => {
    ipcRenderer.removeListener(channel, handler);
  };
}

const bridge = {
  getPending: () => ipcRenderer.invoke(invoke.getPending) as Promise<PendingView[]>,
  getStatus: () => ipcRenderer.invoke(invoke.getStatus) as Promise<StatusView>,
  decide: (choice: DoctorChoice) => ipcRenderer.invoke(invoke.decide, choice) as Promise<BridgeReply<null>>,
  syncNow: () => ipcRenderer.invoke(invoke.syncNow) as Promise<BridgeReply<string>>,
  onPending: (listener: (change: PendingChange) => void) => subscribe(events.pending, listener),
  onStatus: (listener: (status: StatusView) => void) => subscribe(events.status, listener),
} satisfies AgentBridge;

contextBridge.exposeInMainWorld('rxgate', bridge);
