/**
 * What the tray shows, as plain data: the icon's colour, the tooltip, and the menu. The menu
 * starts with what IT and the doctor want to see without opening anything (rule version and
 * age, last sync, waiting checks). No Electron import; `main.ts` turns this into a `Menu`.
 */
import { deflateSync } from 'node:zlib';
import type { StatusView } from '../core/protocol/ui';

export type TraySeverity = 'ok' | 'notice' | 'alarm';

export type TrayEntry =
  | { type: 'info'; label: string }
  | { type: 'separator' }
  | { type: 'action'; id: 'showPopup' | 'openStatus' | 'syncNow' | 'quit'; label: string; enabled: boolean }
  | { type: 'checkbox'; id: 'autoStart'; label: string; checked: boolean };

export interface TrayModel {
  severity: TraySeverity;
  tooltip: string;
  entries: TrayEntry[];
}

const syncWords: Record<StatusView['sync']['state'], string> = {
  idle: '等待下次同步',
  syncing: '正在同步',
  ok: '同步正常',
  failed: '同步失败',
  disabled: '未配置规则服务器',
};

/** How worried the tray should look: red when checks cannot be trusted, amber when IT should look. */
export function traySeverity(status: StatusView | null): TraySeverity {
  if (!status || !status.rules || status.rules.expired) return 'alarm';
  if (status.sync.state === 'failed' || status.rules.source === 'demo') return 'notice';
  return 'ok';
}

/** The tray's tooltip, icon colour and menu for a status snapshot. */
export function trayModel(status: StatusView | null, options: { autoStart: boolean; autoStartAvailable: boolean }): TrayModel {
  const severity = traySeverity(status);
  const rules = status?.rules;
  const rulesLine = !status
    ? '正在启动…'
    : !rules
      ? '规则库: 未加载, 无法审核'
      : // The demo library was never published: its age would be the day it was loaded ("0 天前").
        `规则库 v${rules.version}${rules.source === 'demo' ? ' (演示)' : rules.ageDays !== undefined ? ` · ${rules.ageDays} 天前发布` : ''}${rules.expired ? ' · 已过期!' : ''}`;
  const syncLine = status ? `同步: ${syncWords[status.sync.state]}${status.sync.lastResult ? ` · ${status.sync.lastResult}` : ''}` : '';
  const pending = status?.pendingCount ?? 0;
  const hisCount = status ? status.clients.filter((client) => client.kind === 'his').length : 0;
  const entries: TrayEntry[] = [
    { type: 'info', label: rulesLine },
    ...(status ? [{ type: 'info' as const, label: truncate(syncLine, 60) }, { type: 'info' as const, label: `已连接 HIS: ${hisCount}` }] : []),
    { type: 'separator' },
    { type: 'action', id: 'showPopup', label: pending > 0 ? `待处理提醒 (${pending})` : '待处理提醒 (无)', enabled: pending > 0 },
    { type: 'action', id: 'openStatus', label: '打开状态窗口', enabled: true },
    { type: 'action', id: 'syncNow', label: '立即同步规则', enabled: Boolean(status?.sync.configured) && status?.sync.state !== 'syncing' },
    { type: 'separator' },
    ...(options.autoStartAvailable ? [{ type: 'checkbox' as const, id: 'autoStart' as const, label: '开机自动启动', checked: options.autoStart }] : []),
    { type: 'action', id: 'quit', label: '退出 RxGate', enabled: true },
  ];
  const tooltip = ['RxGate 医保事前提醒', rulesLine, pending > 0 ? `待处理 ${pending}` : ''].filter(Boolean).join('\n');
  return { severity, tooltip: truncate(tooltip, 127), entries };
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

/** Colours for the icon by severity: the same green/amber/red as the status window. */
const severityColour: Record<TraySeverity, [number, number, number]> = {
  ok: [46, 125, 50],
  notice: [230, 150, 0],
  alarm: [183, 28, 28],
};

/**
 * The tray and app icon as a PNG: a rounded square in the severity colour with a white medical
 * cross. Drawn in code so there is no binary asset to keep in step, and so the packaging
 * script can write the large installer icon from the same drawing.
 */
export function iconPng(severity: TraySeverity, size: number): Buffer {
  const [red, green, blue] = severityColour[severity];
  const rows: Buffer[] = [];
  const radius = size * 0.22;
  const arm = size * 0.14;
  const reach = size * 0.32;
  const centre = (size - 1) / 2;
  for (let y = 0; y < size; y += 1) {
    const row = Buffer.alloc(1 + size * 4);
    row[0] = 0; // PNG filter type: none
    for (let x = 0; x < size; x += 1) {
      const coverage = roundedSquareCoverage(x, y, size, radius);
      if (coverage === 0) continue;
      const dx = Math.abs(x - centre);
      const dy = Math.abs(y - centre);
      const cross = (dx <= arm && dy <= reach) || (dy <= arm && dx <= reach);
      const offset = 1 + x * 4;
      row[offset] = cross ? 255 : red;
      row[offset + 1] = cross ? 255 : green;
      row[offset + 2] = cross ? 255 : blue;
      row[offset + 3] = Math.round(coverage * 255);
    }
    rows.push(row);
  }
  const header = Buffer.alloc(13);
  header.writeUInt32BE(size, 0);
  header.writeUInt32BE(size, 4);
  header[8] = 8; // bit depth
  header[9] = 6; // colour type: RGBA
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    pngChunk('IHDR', header),
    pngChunk('IDAT', deflateSync(Buffer.concat(rows))),
    pngChunk('IEND', Buffer.alloc(0)),
  ]);
}

/** Anti-aliased coverage (0…1) of pixel (x, y) by a square with rounded corners. */
function roundedSquareCoverage(x: number, y: number, size: number, radius: number): number {
  const px = x + 0.5;
  const py = y + 0.5;
  const cx = Math.min(Math.max(px, radius), size - radius);
  const cy = Math.min(Math.max(py, radius), size - radius);
  const distance = Math.hypot(px - cx, py - cy);
  return Math.max(0, Math.min(1, radius - distance + 0.5));
}

function pngChunk(type: string, data: Buffer): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(data.length, 0);
  const typeAndData = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(crc32(typeAndData), 0);
  return Buffer.concat([length, typeAndData, crc]);
}

const crcTable = Array.from({ length: 256 }, (_, index) => {
  let value = index;
  for (let bit = 0; bit < 8; bit += 1) value = value & 1 ? 0xedb88320 ^ (value >>> 1) : value >>> 1;
  return value >>> 0;
});

function crc32(data: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of data) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
