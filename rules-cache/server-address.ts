/**
 * Rule-server addresses as hospital IT writes them. Besides `http:`, `https:` and `file:` URLs,
 * Windows IT writes shared folders as UNC paths (`\\fileserver\rxgate\rules`) and local folders
 * as drive paths (`D:\rxgate\www`), and Linux IT writes mounted shares as absolute paths
 * (`/mnt/rxgate`); each names the same folder a `file:` URL does, so they are turned into one
 * before anything else looks at them. Pure: no file system, no network.
 */

/** The schemes the sync client can fetch from. */
export const SERVER_SCHEMES: readonly string[] = ['http:', 'https:', 'file:'];

const UNC_PATH = /^\\\\([^\\/]+)\\([^\\/]+)(.*)$/;
const DRIVE_PATH = /^([A-Za-z]):[\\/](.*)$/;
const POSIX_PATH = /^\/(?!\/)(.*)$/;

/** Percent-encodes each segment of a backslash- or slash-separated folder path. */
function encodedSegments(path: string): string {
  return path
    .split(/[\\/]+/)
    .filter((segment) => segment.length > 0)
    .map((segment) => encodeURIComponent(segment))
    .join('/');
}

/**
 * The URL a configured server address stands for, or an error message (Chinese, for IT) saying
 * what is wrong with it. A folder path always ends in `/` so the manifest resolves inside it.
 */
export function parseServerAddress(address: string): { url: URL } | { error: string } {
  const text = address.trim();
  const unc = UNC_PATH.exec(text);
  if (unc) {
    const rest = encodedSegments(unc[3] ?? '');
    return { url: new URL(`file://${unc[1]}/${encodeURIComponent(unc[2]!)}/${rest ? `${rest}/` : ''}`) };
  }
  const drive = DRIVE_PATH.exec(text);
  if (drive) {
    const rest = encodedSegments(drive[2] ?? '');
    return { url: new URL(`file:///${drive[1]!.toUpperCase()}:/${rest ? `${rest}/` : ''}`) };
  }
  const posix = POSIX_PATH.exec(text);
  if (posix) {
    const rest = encodedSegments(posix[1] ?? '');
    return { url: new URL(`file:///${rest ? `${rest}/` : ''}`) };
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return {
      error: `规则服务器地址无效: "${address}" — 请写网址 (如 https://rules.hospital.local/rxgate/)、共享文件夹 (如 \\\\fileserver\\rxgate\\rules) 或 file:// 地址`,
    };
  }
  if (!SERVER_SCHEMES.includes(url.protocol)) {
    return { error: `规则服务器地址只支持 http、https、file 和共享文件夹路径: "${address}"` };
  }
  return { url };
}

/** Whether `address` is one the sync client accepts; for config validation. */
export function isServerAddress(address: string): boolean {
  return 'url' in parseServerAddress(address);
}
