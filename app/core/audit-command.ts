/**
 * `rxgate audit verify`: walks the whole local audit trail with the install's key, checks it
 * still reaches the anchor beside it, and prints the result and the chain head (what the hub
 * anchors). Exit 0 when intact, 1 when not. Reads only: safe next to a running agent.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openStore } from '../../rules-cache/store';
import { CliError } from './cli-error';

export async function auditVerify(values: Record<string, unknown>, dataDir: string): Promise<number> {
  const file = join(dataDir, 'rxgate.db');
  if (!existsSync(file)) throw new CliError(`数据目录中没有数据库: ${file} (--data-dir 指定代理的数据目录)`);
  const store = openStore(file, { purgeOnOpen: false });
  try {
    const result = store.verifyAudit();
    if (values.json) {
      console.log(JSON.stringify(result));
    } else if (result.ok) {
      const head = result.head ? `链头 第 ${result.head.seq} 条 ${result.head.hash}` : '尚无记录';
      console.log(`审计记录完整: 校验了 ${result.count} 条; ${head}`);
    } else {
      console.log(`审计记录不完整: ${result.reason} (第 ${result.brokenAt} 条; 之前 ${result.count} 条完好)`);
    }
    return result.ok ? 0 : 1;
  } finally {
    store.close();
  }
}
