/**
 * Start at login. Windows and macOS use Electron's `app.setLoginItemSettings` (main.ts); Linux
 * has no such API, so this writes an XDG autostart entry. The deb package installs the same
 * entry machine-wide in /etc/xdg/autostart; a user's own entry with `Hidden=true` turns it off
 * for that user, which is how the XDG spec lets a user override a system entry. No Electron
 * import.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

export const autostartFileName = 'rxgate.desktop';
export const systemAutostartPath = join('/etc/xdg/autostart', autostartFileName);

/** The user's autostart entry path ($XDG_CONFIG_HOME/autostart/rxgate.desktop). */
export function userAutostartPath(env: NodeJS.ProcessEnv = process.env, home: string = homedir()): string {
  return join(env.XDG_CONFIG_HOME || join(home, '.config'), 'autostart', autostartFileName);
}

/** A desktop entry that starts RxGate in the tray; `Hidden=true` when turned off. */
export function autostartEntry(executable: string, enabled: boolean): string {
  const quoted = /[\s"'\\]/.test(executable) ? `"${executable.replace(/(["\\`$])/g, '\\$1')}"` : executable;
  return [
    '[Desktop Entry]',
    'Type=Application',
    'Name=RxGate',
    'Name[zh_CN]=RxGate 医保事前提醒',
    'Comment=医保事前提醒助手',
    `Exec=${quoted} --hidden`,
    'Terminal=false',
    'X-GNOME-Autostart-enabled=true',
    `Hidden=${enabled ? 'false' : 'true'}`,
    '',
  ].join('\n');
}

/** Whether RxGate starts at login for this user: their own entry decides, else the system one. */
export function linuxAutostartEnabled(userPath: string = userAutostartPath(), systemPath: string = systemAutostartPath): boolean {
  if (existsSync(userPath)) return !/^Hidden\s*=\s*true\s*$/im.test(readFileSync(userPath, 'utf8'));
  return existsSync(systemPath);
}

/** Turns start-at-login on or off for this user. */
export function setLinuxAutostart(enabled: boolean, executable: string, userPath: string = userAutostartPath()): void {
  mkdirSync(dirname(userPath), { recursive: true });
  writeFileSync(userPath, autostartEntry(executable, enabled));
}
