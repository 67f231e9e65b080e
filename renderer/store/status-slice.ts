/** The status slice: the core's latest status snapshot and the 立即同步 round trip. */
import type { StateCreator } from 'zustand';
import type { AgentBridge } from '../../app/core/protocol/ui';
import type { AppState, StatusSlice } from './types';

export function createStatusSlice(bridge: AgentBridge): StateCreator<AppState, [], [], StatusSlice> {
  return (set, get) => ({
    status: null,
    syncing: false,
    syncMessage: null,

    receiveStatus(status) {
      set({ status });
    },

    async syncNow() {
      if (get().syncing) return;
      set({ syncing: true, syncMessage: null });
      try {
        const reply = await bridge.syncNow();
        set({ syncMessage: reply.ok ? { ok: true, text: reply.value } : { ok: false, text: reply.error } });
      } catch (error) {
        set({ syncMessage: { ok: false, text: error instanceof Error ? error.message : String(error) } });
      } finally {
        set({ syncing: false });
      }
    },
  });
}
