import { test } from 'node:test';
import assert from 'node:assert/strict';
import { centredBounds, popupBounds, popupMove, popupWindowOptions, statusWindowOptions } from './windows';

const context = { preload: '/app/dist/app/preload/preload.js', devTools: false };

test('every window is hardened: isolated, sandboxed, no Node, web security on', () => {
  for (const options of [popupWindowOptions(context), statusWindowOptions(context)]) {
    const preferences = options.webPreferences;
    assert.equal(preferences.contextIsolation, true);
    assert.equal(preferences.sandbox, true);
    assert.equal(preferences.nodeIntegration, false);
    assert.equal(preferences.nodeIntegrationInWorker, false);
    assert.equal(preferences.nodeIntegrationInSubFrames, false);
    assert.equal(preferences.webSecurity, true);
    assert.equal(preferences.allowRunningInsecureContent, false);
    assert.equal(preferences.webviewTag, false);
    assert.equal(preferences.devTools, false);
    assert.equal(preferences.preload, context.preload);
    assert.equal(options.show, false, 'windows start hidden');
  }
});

test('the popup is ready in the background, on top, and cannot be closed or minimised away', () => {
  const popup = popupWindowOptions(context);
  assert.equal(popup.alwaysOnTop, true);
  assert.equal(popup.paintWhenInitiallyHidden, true);
  assert.equal(popup.webPreferences.backgroundThrottling, false);
  assert.equal(popup.closable, false);
  assert.equal(popup.minimizable, false);
  assert.ok(popup.width <= 1366 && popup.height <= 768 - 40, 'fits a 1366×768 ward screen with its taskbar');
  const status = statusWindowOptions(context);
  assert.equal(status.alwaysOnTop, false);
  assert.equal(status.closable, true);
});

test('the popup sits at the right edge of the work area, full height, leaving the HIS visible', () => {
  // 1366×768 with a 40-pixel taskbar, as a second display to the right of a 1920-wide one.
  const ward = popupBounds({ x: 1920, y: 0, width: 1366, height: 728 });
  assert.deepEqual(ward, { x: 1920 + 1366 - 8 - 760, y: 8, width: 760, height: 712 });
  assert.ok(ward.x - 1920 >= 590, 'more than half of the HIS window stays visible');
  // A big screen: half its width, capped; not taller than is useful.
  assert.deepEqual(popupBounds({ x: 0, y: 0, width: 2560, height: 1400 }), { x: 2560 - 8 - 900, y: 8, width: 900, height: 960 });
  // A tiny screen: the popup fits inside it, whatever the minimum.
  const tiny = popupBounds({ x: 0, y: 0, width: 700, height: 500 });
  assert.deepEqual(tiny, { x: 8, y: 8, width: 684, height: 484 });
});

test('a window is centred on the work area, shrunk to fit', () => {
  assert.deepEqual(centredBounds({ x: 1920, y: 0, width: 1366, height: 728 }, { width: 1040, height: 700 }), {
    x: 1920 + 163,
    y: 16,
    width: 1040,
    height: 696,
  });
  const small = centredBounds({ x: 0, y: 0, width: 800, height: 600 }, { width: 1040, height: 700 });
  assert.deepEqual(small, { x: 16, y: 16, width: 768, height: 568 });
});

test('the popup comes up for a new check, stays for a queue, hides when nothing waits', () => {
  assert.equal(popupMove([], ['c-1']), 'show');
  assert.equal(popupMove(['c-1'], ['c-1', 'c-2']), 'show', 'a new check is brought to the doctor’s attention');
  assert.equal(popupMove(['c-1', 'c-2'], ['c-2']), 'keep', 'answering one of two leaves the window where it is');
  assert.equal(popupMove(['c-2'], []), 'hide', 'answered or cancelled by the HIS');
  assert.equal(popupMove([], []), 'keep');
});
