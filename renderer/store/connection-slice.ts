/** The connection slice: whether the renderer can reach the core right now. */
import type { StateCreator } from 'zustand';
import type { AppState, ConnectionSlice } from './types';

export const createConnectionSlice: StateCreator<AppState, [], [], ConnectionSlice> = (set) => ({
  connection: 'connecting',
  connectionMessage: null,
  setConnection(connection, message) {
    set({ connection, connectionMessage: message ?? null });
  },
});
