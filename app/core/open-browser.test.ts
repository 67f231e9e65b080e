import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EventEmitter } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import {
  appWindowArguments,
  browserCandidates,
  findBrowser,
  isOpenableUrl,
  missingDisplayReason,
  openAppWindow,
} from './open-browser';

test('Linux looks on PATH first, then at fixed install locations', () => {
  const candidates = browserCandidates('linux', { PATH: '/usr/local/bin:/usr/bin' });
  assert.equal(candidates[0], '/usr/local/bin/chromium');
  assert.ok(candidates.includes('/usr/bin/google-chrome'));
  assert.ok(candidates.includes('/snap/bin/chromium'));
  assert.equal(new Set(candidates).size, candidates.length, 'no duplicates');
});

test('Windows prefers Edge and checks both Program Files folders and the user folder', () => {
  const candidates = browserCandidates('win32', {
    ProgramFiles: 'C:\\Program Files',
    'ProgramFiles(x86)': 'C:\\Program Files (x86)',
    LOCALAPPDATA: 'C:\\Users\\doc\\AppData\\Local',
  });
  assert.equal(candidates[0], 'C:\\Program Files (x86)\\Microsoft\\Edge\\Application\\msedge.exe');
  assert.ok(candidates.includes('C:\\Users\\doc\\AppData\\Local\\Google\\Chrome\\Application\\chrome.exe'));
});

test('macOS looks inside application bundles', () => {
  const candidates = browserCandidates('darwin', { HOME: '/Users/doc' });
  assert.ok(candidates.includes('/Applications/Google Chrome.app/Contents/MacOS/Google Chrome'));
  assert.ok(candidates.includes('/Users/doc/Applications/Chromium.app/Contents/MacOS/Chromium'));
});

test('RXGATE_BROWSER wins over the search', () => {
  const found = findBrowser({
    platform: 'linux',
    env: { PATH: '/usr/bin', RXGATE_BROWSER: '/opt/custom/browser' },
    exists: () => true,
  });
  assert.equal(found, '/opt/custom/browser');
});

test('only loopback http(s) pages are opened', () => {
  assert.equal(isOpenableUrl('http://127.0.0.1:17380/ui/#token=x'), true);
  assert.equal(isOpenableUrl('http://localhost:1/ui/'), true);
  assert.equal(isOpenableUrl('http://example.com/'), false);
  assert.equal(isOpenableUrl('file:///etc/passwd'), false);
  assert.equal(isOpenableUrl('--disable-web-security'), false);
});

test('the app window uses a fresh profile and the given URL as one argument', () => {
  const args = appWindowArguments('http://127.0.0.1:1/ui/#token=a b', '/tmp/profile');
  assert.ok(args.includes('--app=http://127.0.0.1:1/ui/#token=a b'));
  assert.ok(args.includes('--user-data-dir=/tmp/profile'));
});

test('no display on Linux is reported instead of spawning a browser that cannot show', () => {
  assert.ok(missingDisplayReason('linux', {}));
  assert.equal(missingDisplayReason('linux', { DISPLAY: ':0' }), undefined);
  assert.equal(missingDisplayReason('win32', {}), undefined);
});

test('openAppWindow reports a missing browser with a reason', async () => {
  const result = await openAppWindow('http://127.0.0.1:1/ui/', {
    platform: 'linux',
    env: { DISPLAY: ':0', PATH: '/nowhere' },
    exists: () => false,
  });
  assert.equal(result.opened, false);
  assert.match(result.opened ? '' : result.reason, /Chromium/);
});

test('openAppWindow starts the browser detached and reports which', async () => {
  const calls: Array<{ command: string; args: string[]; detached?: boolean }> = [];
  const result = await openAppWindow('http://127.0.0.1:1/ui/', {
    platform: 'linux',
    env: { DISPLAY: ':0', PATH: '/usr/bin' },
    exists: (path) => path === '/usr/bin/chromium',
    profileDir: '/tmp/rxgate-profile',
    spawn: (command, args, options) => {
      calls.push({ command, args, detached: options.detached });
      const child = new EventEmitter() as unknown as ChildProcess;
      (child as unknown as { unref: () => void }).unref = () => undefined;
      setImmediate(() => child.emit('spawn'));
      return child;
    },
  });
  assert.deepEqual(result, { opened: true, browser: '/usr/bin/chromium', profileDir: '/tmp/rxgate-profile' });
  assert.equal(calls[0]?.detached, true);
});

test('openAppWindow reports a browser that fails to start', async () => {
  const result = await openAppWindow('http://127.0.0.1:1/ui/', {
    platform: 'linux',
    env: { DISPLAY: ':0', PATH: '/usr/bin' },
    exists: () => true,
    profileDir: '/tmp/rxgate-profile',
    spawn: () => {
      const child = new EventEmitter() as unknown as ChildProcess;
      setImmediate(() => child.emit('error', new Error('EACCES')));
      return child;
    },
  });
  assert.equal(result.opened, false);
});
