/**
 * The bridge inside Electron: the preload (app/preload/preload.ts) exposes exactly an
 * `AgentBridge` as `window.rxgate` through contextBridge, one method per message, so this side
 * only has to find it.
 */
import type { AgentBridge } from '../../app/core/protocol/ui';

declare global {
  interface Window {
    /** Present only in RxGate's own Electron windows. */
    rxgate?: AgentBridge;
  }
}

/** The preload's bridge, or null outside Electron. */
export function electronBridge(target: { rxgate?: AgentBridge } = window): AgentBridge | null {
  return target.rxgate ?? null;
}
