import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { autostartEntry, linuxAutostartEnabled, setLinuxAutostart, userAutostartPath } from './autostart';

test('the user entry lives under XDG_CONFIG_HOME', () => {
  assert.equal(userAutostartPath({ XDG_CONFIG_HOME: '/x' }, '/home/doc'), '/x/autostart/rxgate.desktop');
  assert.equal(userAutostartPath({}, '/home/doc'), '/home/doc/.config/autostart/rxgate.desktop');
});

test('the entry starts RxGate hidden in the tray, quoting paths with spaces', () => {
  const entry = autostartEntry('/opt/Rx Gate/rxgate', true);
  assert.match(entry, /^Exec="\/opt\/Rx Gate\/rxgate" --hidden$/m);
  assert.match(entry, /^Hidden=false$/m);
  assert.match(autostartEntry('/opt/RxGate/rxgate', false), /^Hidden=true$/m);
});

test('a user entry overrides the machine-wide one, both ways', () => {
  const dir = mkdtempSync(join(tmpdir(), 'rxgate-autostart-'));
  const user = join(dir, 'user', 'autostart', 'rxgate.desktop');
  const system = join(dir, 'rxgate.desktop');
  assert.equal(linuxAutostartEnabled(user, system), false);
  writeFileSync(system, autostartEntry('/opt/RxGate/rxgate', true));
  assert.equal(linuxAutostartEnabled(user, system), true);
  setLinuxAutostart(false, '/opt/RxGate/rxgate', user);
  assert.equal(linuxAutostartEnabled(user, system), false);
  setLinuxAutostart(true, '/opt/RxGate/rxgate', user);
  assert.equal(linuxAutostartEnabled(user, system), true);
});
