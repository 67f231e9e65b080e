/**
 * Window options and placement for the popup and the status window, as plain data (no
 * Electron import) so the hardening is tested in Node. `main.ts` passes these objects to
 * `new BrowserWindow`, whose parameter type checks them structurally.
 */

/** A rectangle in screen coordinates (Electron's `Rectangle`). */
export interface Bounds {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** The web preferences every RxGate window gets: the hardened defaults, spelled out. */
export interface HardenedWebPreferences {
  preload: string;
  contextIsolation: true;
  sandbox: true;
  nodeIntegration: false;
  nodeIntegrationInWorker: false;
  nodeIntegrationInSubFrames: false;
  webSecurity: true;
  allowRunningInsecureContent: false;
  webviewTag: false;
  experimentalFeatures: false;
  navigateOnDragDrop: false;
  spellcheck: false;
  safeDialogs: true;
  /** The popup must render while hidden so it can be shown the moment a check is held. */
  backgroundThrottling: boolean;
  devTools: boolean;
}

/** The subset of `BrowserWindowConstructorOptions` RxGate sets. */
export interface WindowOptions {
  title: string;
  width: number;
  height: number;
  minWidth: number;
  minHeight: number;
  x?: number;
  y?: number;
  show: false;
  paintWhenInitiallyHidden: boolean;
  alwaysOnTop: boolean;
  skipTaskbar: boolean;
  minimizable: boolean;
  maximizable: boolean;
  fullscreenable: boolean;
  closable: boolean;
  autoHideMenuBar: true;
  backgroundColor: string;
  icon?: string;
  webPreferences: HardenedWebPreferences;
}

export interface WindowContext {
  preload: string;
  /** DevTools only in development builds: a doctor pressing F12 should find nothing. */
  devTools: boolean;
  icon?: string;
}

/**
 * The popup's size before it is placed: `popupBounds` decides the real one per display. Narrow
 * enough that the HIS order beside it stays readable on a 1366×768 ward screen.
 */
export const popupSize = { width: 760, height: 700 };
/** Narrowest popup that still lays out an item card with its actions on one row. */
export const popupMinWidth = 760;
/** Widest popup worth having: past this the lines only get longer, and the HIS gets hidden. */
export const popupMaxWidth = 900;
/** Tallest popup worth having on a big screen. */
export const popupMaxHeight = 960;
export const statusSize = { width: 1000, height: 680 };

const pageBackground = '#eef1f5';

function webPreferences(context: WindowContext, backgroundThrottling: boolean): HardenedWebPreferences {
  return {
    preload: context.preload,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    safeDialogs: true,
    backgroundThrottling,
    devTools: context.devTools,
  };
}

/**
 * The popup: created hidden at start and kept loaded, so showing it is only `show()`; always on
 * top of the HIS; not minimisable or closable, because the HIS is waiting for an answer and the
 * answer is 确认 or 返回修改.
 */
export function popupWindowOptions(context: WindowContext): WindowOptions {
  return {
    title: 'RxGate 医保事前提醒',
    ...popupSize,
    minWidth: popupMinWidth,
    minHeight: 500,
    show: false,
    paintWhenInitiallyHidden: true,
    alwaysOnTop: true,
    skipTaskbar: false,
    minimizable: false,
    maximizable: true,
    fullscreenable: false,
    closable: false,
    autoHideMenuBar: true,
    backgroundColor: pageBackground,
    icon: context.icon,
    webPreferences: webPreferences(context, false),
  };
}

/** The status window: an ordinary window, opened from the tray, hidden (not destroyed) on close. */
export function statusWindowOptions(context: WindowContext): WindowOptions {
  return {
    title: 'RxGate 医保事前提醒 · 状态',
    ...statusSize,
    minWidth: 640,
    minHeight: 480,
    show: false,
    paintWhenInitiallyHidden: false,
    alwaysOnTop: false,
    skipTaskbar: false,
    minimizable: true,
    maximizable: true,
    fullscreenable: false,
    closable: true,
    autoHideMenuBar: true,
    backgroundColor: pageBackground,
    icon: context.icon,
    webPreferences: webPreferences(context, true),
  };
}

/**
 * A window centred in a display's work area (inside the taskbar), shrunk to fit with a small
 * margin when the preferred size does not.
 */
export function centredBounds(workArea: Bounds, preferred: { width: number; height: number }, margin = 16): Bounds {
  const width = Math.max(1, Math.min(preferred.width, workArea.width - 2 * margin));
  const height = Math.max(1, Math.min(preferred.height, workArea.height - 2 * margin));
  return {
    x: Math.round(workArea.x + (workArea.width - width) / 2),
    y: Math.round(workArea.y + (workArea.height - height) / 2),
    width,
    height,
  };
}

/**
 * Where the popup goes on a display: against the right edge of the work area (inside the
 * taskbar), as tall as the screen allows and half its width (between `popupMinWidth` and
 * `popupMaxWidth`), so the HIS order the doctor is looking at stays visible on the left, where
 * HIS order grids start, and the popup has room for long findings without scrolling.
 */
export function popupBounds(workArea: Bounds, margin = 8): Bounds {
  const room = Math.max(1, workArea.width - 2 * margin);
  const width = Math.min(room, Math.max(popupMinWidth, Math.min(popupMaxWidth, Math.round(workArea.width / 2))));
  const height = Math.max(1, Math.min(popupMaxHeight, workArea.height - 2 * margin));
  return {
    x: workArea.x + workArea.width - margin - width,
    y: workArea.y + margin,
    width,
    height,
  };
}

/** What to do with the popup when the pending list changes. */
export type PopupMove = 'show' | 'hide' | 'keep';

/**
 * A check that was not pending before brings the popup forward (on the display under the
 * cursor, where the doctor is working); an empty list hides it; anything else (a check answered
 * while others wait) leaves it where the doctor put it.
 */
export function popupMove(previousIds: readonly string[], nextIds: readonly string[]): PopupMove {
  if (nextIds.length === 0) return previousIds.length === 0 ? 'keep' : 'hide';
  const before = new Set(previousIds);
  return nextIds.some((id) => !before.has(id)) ? 'show' : 'keep';
}
