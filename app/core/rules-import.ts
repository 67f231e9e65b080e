/**
 * `rxgate rules import FILE`: loads a rule library from a file into the local cache, checked
 * the way a sync would check it, so an offline ward PC can be updated from a USB stick.
 */
import { join } from 'node:path';
import { openStore } from '../../rules-cache/store';
import { readLibraryFile } from './agent';
import { CliError } from './cli-error';

export interface ImportOutcome {
  version: number;
  ruleCount: number;
  message: string;
}

/**
 * A JSON library must carry a higher version than the active one (the demo library is the
 * floor, version 0), unless `force` — an explicit local decision by IT, recorded in the audit.
 */
export async function importRules(file: string, dataDir: string, options: { force: boolean }): Promise<ImportOutcome> {
  const library = readLibraryFile(file, 'import');
  const store = openStore(join(dataDir, 'rxgate.db'));
  try {
    const active = store.libraryInfo().active;
    const activeVersion = !active || active.source === 'demo' ? 0 : active.version;
    if (library.version <= activeVersion && !options.force) {
      throw new CliError(
        `规则库版本 ${library.version} 不高于当前版本 ${activeVersion}, 未导入 (确需降级请加 --force, 或发布一个更高版本)`,
      );
    }
    const info = store.applyLibrary(library, { file });
    store.appendAudit({ type: 'rules', data: { version: info.version, source: info.source, ruleCount: info.ruleCount, file, forced: options.force } });
    return {
      version: info.version,
      ruleCount: info.ruleCount,
      message: `已导入规则库 版本 ${info.version}, 共 ${info.ruleCount} 条 (${Object.entries(info.counts).map(([kind, count]) => `${kind} ${count}`).join(', ')})`,
    };
  } finally {
    store.close();
  }
}
