/**
 * `rxgate rules import FILE`: loads a rule library from a file into the local cache, checked
 * the way a sync would check it, so an offline ward PC can be updated from a USB stick.
 */
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { readPackFile } from '../../rules-cache/pack';
import { openStore, versionToBeat } from '../../rules-cache/store';
import type { LibraryInfo } from '../../rules-cache/store-contract';
import { readLibraryFile } from './rules-service';
import { CliError } from './cli-error';
import { AGENT_VERSION } from './version';

export interface ImportOutcome {
  version: number;
  ruleCount: number;
  message: string;
}

/** A JSON file holding `{version, rules}` is a plain library; anything else is read as a signed pack. */
function isPlainLibrary(file: string): boolean {
  if (statSync(file).isDirectory() || !file.toLowerCase().endsWith('.json')) return false;
  try {
    const document = JSON.parse(readFileSync(file, 'utf8').replace(/^\uFEFF/, '')) as { rules?: unknown };
    return Array.isArray(document.rules);
  } catch {
    return true; // let the JSON reader report the syntax error with the file name
  }
}

/**
 * A signed pack is verified exactly as sync does (pinned key, higher version, not expired,
 * hash, schema) and cannot be forced. A plain JSON library must also carry a higher version
 * than the active one (the demo library is the floor, version 0), unless `force` — an explicit
 * local decision by IT, recorded in the audit trail.
 */
export async function importRules(
  file: string,
  dataDir: string,
  options: { force: boolean; publicKeys: string[] },
): Promise<ImportOutcome> {
  const store = openStore(join(dataDir, 'rxgate.db'));
  try {
    const activeVersion = versionToBeat(store.libraryInfo().active);
    let info: LibraryInfo;
    if (isPlainLibrary(file)) {
      const library = readLibraryFile(file, 'import');
      if (library.version <= activeVersion && !options.force) {
        throw new CliError(`规则库版本 ${library.version} 不高于当前版本 ${activeVersion}, 未导入 (确需降级请加 --force, 或发布一个更高版本)`);
      }
      // The install writes its audit record in the same transaction.
      info = store.applyLibrary(library, { file, forced: options.force });
    } else {
      if (options.force) throw new CliError('签名规则包不能用 --force 导入: 版本、签名和有效期检查不可跳过');
      if (options.publicKeys.length === 0) throw new CliError('导入签名规则包需要公钥: --public-key FILE 或配置文件 publicKeys');
      const { library, manifest } = await readPackFile(file, { publicKeys: options.publicKeys, activeVersion, agentVersion: AGENT_VERSION });
      info = store.applyLibrary(library, { file, packId: manifest.packId, keyId: manifest.keyId, sha256: manifest.pack.sha256 });
    }
    return {
      version: info.version,
      ruleCount: info.ruleCount,
      message: `已导入规则库 版本 ${info.version}, 共 ${info.ruleCount} 条 (${Object.entries(info.counts).map(([kind, count]) => `${kind} ${count}`).join(', ')})`,
    };
  } finally {
    store.close();
  }
}
