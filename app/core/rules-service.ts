/**
 * The rule library in force: loaded at start (a given file, the cached library, or the demo
 * library as the floor), installed one way (through the writer, library and audit record in
 * one transaction), compiled into the in-memory index the engine reads, and swapped in one
 * assignment. A cached library that no longer matches its keyed digest was changed outside the
 * agent: it is not used, the last good one is, and the status says why.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { compileRules, compileRulesSliced, type CompiledRules } from '../../rules-cache/compile';
import { stageLibraryInWorker, rowsOfLibrary, stageRows } from '../../rules-cache/library-writer';
import { parseRuleLibraryDocument, type RuleLibrary } from '../../rules-cache/model';
import { versionToBeat, type SqliteStore } from '../../rules-cache/store';
import type { LibraryInfo } from '../../rules-cache/store-contract';
import { TypedEvents } from './events';
import { appRoot } from './paths';
import type { RulesStatus } from './protocol/ui';
import type { Writer } from './writer';

export interface RulesServiceOptions {
  /** A JSON rule library to run on instead of the cached one. */
  rulesFile?: string;
  /** Days past its expiry after which a library no longer checks. */
  expiredHardLimitDays: number;
  now: () => Date;
  log: (line: string) => void;
}

/** The embedded demo library: the floor the agent starts on when nothing else is loaded. */
export const DEMO_RULES_FILE = demoRulesFile();

/**
 * Beside the code (`dist/rules-cache/demo` in a build or a packaged app, where the packaging
 * copies it) or in the source tree when run from a checkout.
 */
function demoRulesFile(): string {
  const candidates = [
    join(__dirname, '..', '..', 'rules-cache', 'demo', 'demo-rules.json'),
    join(appRoot(), 'rules-cache', 'demo', 'demo-rules.json'),
  ];
  return candidates.find((candidate) => existsSync(candidate)) ?? candidates[0]!;
}

/** Reads and validates a JSON rule library file; errors name the rule and field. */
export function readLibraryFile(path: string, source: string): RuleLibrary {
  let document: unknown;
  try {
    document = JSON.parse(readFileSync(path, 'utf8').replace(/^\uFEFF/, ''));
  } catch (error) {
    throw new Error(`无法读取规则库 ${path}: ${(error as Error).message}`);
  }
  return parseRuleLibraryDocument(document, source);
}

export class RulesService {
  readonly events = new TypedEvents<{ changed: [] }>();
  private current: CompiledRules | null = null;
  private pendingInstall: Promise<unknown> | null = null;

  /** Whether a library is being staged and compiled right now. */
  get installing(): boolean {
    return this.pendingInstall !== null;
  }
  /** What went wrong with the cached rules at load, in words for the status window. */
  readonly problems: string[] = [];

  constructor(
    private readonly store: SqliteStore,
    private readonly writer: Writer,
    private readonly options: RulesServiceOptions,
  ) {}

  /** The compiled index checks read; swapped in one assignment. */
  get compiled(): CompiledRules | null {
    return this.current;
  }

  loadInitial(): void {
    const { rulesFile, log } = this.options;
    if (rulesFile) {
      const library = readLibraryFile(rulesFile, 'file');
      this.applyLibrary(library, { file: rulesFile });
      log(`规则库: ${rulesFile} (版本 ${library.version}, ${library.rules.length} 条)`);
      return;
    }
    const active = this.readCachedLibrary();
    if (active) {
      this.current = compileRules(active.library);
      log(`规则库: 本地缓存 (来源 ${active.info.source}, 版本 ${active.info.version}, ${active.info.ruleCount} 条)`);
      return;
    }
    const demo = readLibraryFile(DEMO_RULES_FILE, 'demo');
    this.applyLibrary(demo, { file: 'demo-rules.json' });
    log(`规则库: 内置演示规则库 (版本 ${demo.version}, ${demo.rules.length} 条) — 尚未导入或同步正式规则`);
  }

  /**
   * The cached library, or the previous one when the active one is damaged or was changed
   * outside the agent: the last good rules stay in force, and the audit and status say why.
   */
  private readCachedLibrary(): ReturnType<SqliteStore['activeLibrary']> {
    try {
      return this.store.activeLibrary();
    } catch (error) {
      const message = (error as Error).message;
      this.noteProblem(message);
      this.writer.audit({ type: 'rules.damaged', data: { message } });
      if (!this.store.libraryInfo().previous) return null;
      try {
        this.writer.rollbackLibrary();
        const previous = this.store.activeLibrary();
        this.noteProblem(`已退回上一版规则库 (版本 ${previous?.info.version ?? '?'})`);
        return previous;
      } catch (again) {
        this.noteProblem(`上一版规则库也无法使用: ${(again as Error).message}; 暂用内置演示规则库`);
        return null;
      }
    }
  }

  private noteProblem(message: string): void {
    this.problems.push(message);
    this.options.log(`规则库问题: ${message}`);
  }

  /** Installs a library in one transaction and swaps the index (rule files, demo, tests). */
  applyLibrary(library: RuleLibrary, meta?: Record<string, unknown>): LibraryInfo {
    const compiled = compileRules(library);
    const info = this.writer.applyLibrary(library, meta);
    this.current = compiled;
    this.events.emit('changed');
    return info;
  }

  /**
   * Installs a verified library without stopping checks or writes: a worker stages it in short
   * slices while this thread compiles the new index; one short transaction then makes it
   * active with its audit record, and the index is swapped in one assignment.
   */
  async installVerified(library: RuleLibrary, meta: Record<string, unknown>): Promise<LibraryInfo> {
    if (this.pendingInstall) throw new Error('另一个规则库正在应用, 请稍后再试');
    if (this.store.file === ':memory:') return this.applyLibrary(library, meta);
    const installing = this.install(library, meta);
    this.pendingInstall = installing;
    try {
      return await installing;
    } finally {
      this.pendingInstall = null;
    }
  }

  /** Resolves once no install is running (the agent awaits it before it closes the store). */
  async settled(): Promise<void> {
    await this.pendingInstall?.catch(() => undefined);
  }

  private async install(library: RuleLibrary, meta: Record<string, unknown>): Promise<LibraryInfo> {
    {
      const staging = stageLibraryInWorker(this.store.file, library, meta).catch((error: Error) => {
        // A worker that cannot start (a packaging that hides its file, say) must not cost the
        // update: stage here instead, slice by slice.
        this.options.log(`规则写入线程失败, 改在主线程写入: ${error.message}`);
        return stageRows(this.store, library, rowsOfLibrary(library), meta);
      });
      const compiled = await compileRulesSliced(library);
      const libraryId = await staging;
      const info = this.writer.activateStaged(libraryId);
      this.current = compiled;
      this.events.emit('changed');
      return info;
    }
  }

  /** Picks up a library that another process (`rxgate rules import`) wrote to the store. */
  reload(): RulesStatus | null {
    const active = this.readCachedLibrary();
    if (active) this.current = compileRules(active.library);
    this.events.emit('changed');
    return this.status();
  }

  /**
   * A library past its expiry keeps checking (status says so loudly), until it is expired
   * longer than the hard limit: then checks answer `unchecked` rather than apply rules the
   * insurance office may long have changed. Returns the reason, or null while still usable.
   */
  expiredTooLong(): string | null {
    const expiresAt = this.current?.expiresAt;
    if (!expiresAt) return null;
    const limitDays = this.options.expiredHardLimitDays;
    const overdue = this.options.now().getTime() - Date.parse(expiresAt);
    if (overdue <= limitDays * 86_400_000) return null;
    return `规则库已于 ${expiresAt.slice(0, 10)} 过期, 超过 ${limitDays} 天仍未更新, 本次未做检查 (请同步或导入新规则包)`;
  }

  /** The version a new pack must exceed; the demo library is the floor. */
  activeVersion(): number {
    return versionToBeat(this.store.libraryInfo().active);
  }

  status(): RulesStatus | null {
    const info = this.store.libraryInfo().active;
    if (!info) return null;
    const now = this.options.now();
    const expired = info.expiresAt ? Date.parse(info.expiresAt) < now.getTime() : false;
    const since = info.publishedAt ?? info.appliedAt;
    return {
      version: info.version,
      source: info.source,
      ruleCount: info.ruleCount,
      counts: info.counts,
      appliedAt: info.appliedAt,
      publishedAt: info.publishedAt,
      expiresAt: info.expiresAt,
      expired,
      ageDays: since ? Math.max(0, Math.floor((now.getTime() - Date.parse(since)) / 86_400_000)) : undefined,
    };
  }
}
