/**
 * Keeps the agent's JavaScript heap within a budget above what it really holds.
 *
 * Under a steady stream of checks V8 lets the old generation grow to several times its live
 * size before it collects it: with 100,000 rules (75 MB live) the heap stood at 310 MB after
 * 10,000 checks and the process at 400 MB, although a full collection brought the heap back
 * to 86 MB. V8's limit cannot be lowered from inside a running process, and the desktop app's
 * main process cannot be given `--max-old-space-size`; so the agent watches the heap itself.
 * Every {@link CHECKS_BETWEEN_LOOKS} checks it compares the heap in use with its size after the
 * last full collection and, once it is {@link BUDGET_BYTES} over, asks for one — run by V8 as
 * its own task, after the reply that tipped it has gone out. A collection of this heap takes
 * tens of milliseconds and comes every few thousand checks, as V8's own would.
 */
import { getHeapStatistics, setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/** Heap above the live size the agent tolerates before it collects. */
const BUDGET_BYTES = 64 * 1024 * 1024;
/** Reading the heap's statistics costs microseconds; once every this many checks is plenty. */
const CHECKS_BETWEEN_LOOKS = 100;

type Collect = (options: { type: 'major'; execution: 'async' }) => Promise<void> | void;

/**
 * V8's `gc`, from a fresh context created with `--expose-gc` set: setting the flag later does
 * not add it to contexts that already exist. `null` where the runtime refuses.
 */
function collector(): Collect | null {
  try {
    setFlagsFromString('--expose-gc');
    const collect: unknown = runInNewContext('gc');
    return typeof collect === 'function' ? (collect as Collect) : null;
  } catch {
    return null;
  }
}

export class HeapBudget {
  private checks = 0;
  private baseline = getHeapStatistics().used_heap_size;
  private collecting = false;

  /**
   * `busy`: true while a rule pack is being fetched, parsed and installed. The heap then grows
   * with the new library, which is live, not garbage: a forced collection would stop checks for
   * a hundred milliseconds and more to free little, so the budget waits for the swap.
   */
  constructor(
    private readonly collect: Collect | null = collector(),
    private readonly busy: () => boolean = () => false,
  ) {}

  /** Called after each check; collects when the heap has grown past the budget. */
  afterCheck(): void {
    this.checks += 1;
    if (this.checks % CHECKS_BETWEEN_LOOKS === 0 && !this.busy()) this.look();
  }

  /**
   * Called when a new rule index replaced the old one: the old index and what building the new
   * one allocated (well over a hundred megabytes at 100,000 rules) are garbage at once, and the
   * budget looks now instead of a hundred checks later — or never, on a PC that checks little.
   */
  afterRulesChanged(): void {
    this.look();
  }

  private look(): void {
    if (!this.collect || this.collecting) return;
    if (getHeapStatistics().used_heap_size < this.baseline + BUDGET_BYTES) return;
    this.collecting = true;
    Promise.resolve(this.collect({ type: 'major', execution: 'async' }))
      .catch(() => undefined)
      .finally(() => {
        this.collecting = false;
        this.baseline = getHeapStatistics().used_heap_size;
      });
  }
}
