/**
 * The one renderer store, built from its slices, and the wiring that keeps it fed from the
 * bridge. Vanilla (no React) so the tests drive it in plain Node.
 */
import { createStore, type StoreApi } from 'zustand/vanilla';
import type { AgentBridge } from '../../app/core/protocol/ui';
import { createConnectionSlice } from './connection-slice';
import { createPendingSlice } from './pending-slice';
import { createStatusSlice } from './status-slice';
import type { AppState } from './types';

export type AppStore = StoreApi<AppState>;

/** A fresh store whose actions talk to the core through `bridge`. */
export function createAppStore(bridge: AgentBridge): AppStore {
  return createStore<AppState>()((...parts) => ({
    ...createPendingSlice(bridge)(...parts),
    ...createStatusSlice(bridge)(...parts),
    ...createConnectionSlice(...parts),
  }));
}

/**
 * Subscribes the store to the core's pushes and loads the first snapshots. Subscribing comes
 * first so that a push racing the initial fetch is not lost. Returns the unsubscribe.
 */
export function connectStore(store: AppStore, bridge: AgentBridge): () => void {
  const stopPending = bridge.onPending((change) => store.getState().receivePendingChange(change));
  const stopStatus = bridge.onStatus((status) => store.getState().receiveStatus(status));
  Promise.all([bridge.getPending(), bridge.getStatus()]).then(
    ([pending, status]) => {
      store.getState().receivePending(pending);
      store.getState().receiveStatus(status);
      store.getState().setConnection('open');
    },
    (error: unknown) => {
      store.getState().setConnection('lost', error instanceof Error ? error.message : String(error));
    },
  );
  return () => {
    stopPending();
    stopStatus();
  };
}

export { selectCurrentView } from './pending-slice';
export type { AppState } from './types';
