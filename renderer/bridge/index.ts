/**
 * Picks the bridge for this page: Electron's preload when it is there, otherwise the agent's
 * UI WebSocket with the token from the URL fragment. This is the only place that knows there
 * are two; everything else sees an `AgentBridge`.
 */
import type { AgentBridge } from '../../app/core/protocol/ui';
import { electronBridge } from './electron';
import { fragmentWithoutToken, readLaunchParameters, type View } from './launch';
import { createWebSocketBridge, uiSocketUrl, type ConnectionState } from './websocket';

export interface OpenedBridge {
  bridge: AgentBridge;
  view: View;
}

/** Session storage key: a reload of the app window must still find the token. */
const tokenStorageKey = 'rxgate.uiToken';

/**
 * Opens the bridge for the current page, or explains why it cannot. Takes the token out of the
 * address bar (it stays in session storage for reloads) so it is not on screen or in history.
 */
export function openBridge(onConnectionChange: (state: ConnectionState, message?: string) => void): OpenedBridge | { error: string } {
  const launch = readLaunchParameters(window.location.hash);
  const inElectron = electronBridge();
  if (inElectron) return { bridge: inElectron, view: launch.view };

  let token = launch.token;
  try {
    if (token) window.sessionStorage.setItem(tokenStorageKey, token);
    else token = window.sessionStorage.getItem(tokenStorageKey) ?? undefined;
  } catch {
    // Storage can be disabled; the token from the fragment is enough for this load.
  }
  if (launch.token) {
    window.history.replaceState(null, '', `${window.location.pathname}${window.location.search}${fragmentWithoutToken(window.location.hash)}`);
  }
  if (!token) {
    return { error: '缺少界面令牌: 请使用 RxGate 助手打印或打开的地址 (…/ui/#token=…)' };
  }
  const sessionToken = token;
  const bridge = createWebSocketBridge({
    url: uiSocketUrl(window.location, token),
    onConnectionChange,
    diagnose: async () => {
      const reply = await fetch('/v1/ui/session', { headers: { Authorization: `Bearer ${sessionToken}` }, cache: 'no-store' });
      return reply.status === 401
        ? 'RxGate 助手不认这个界面的令牌 (令牌已更换): 请用数据目录中 ui-address.txt 里的地址重新打开界面'
        : null;
    },
  });
  window.addEventListener('pagehide', (event) => {
    // A page kept in the back/forward cache comes back and needs its connection.
    if (!event.persisted) bridge.close();
  });
  return { bridge, view: launch.view };
}
