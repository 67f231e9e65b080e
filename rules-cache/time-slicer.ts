/**
 * Cuts long work on the thread that also answers checks into slices of a few milliseconds, with
 * a turn of the event loop between them (product.md: p99 ≤ 10 ms while a pack applies). One
 * slicer is shared by the steps of one job, so a slice's budget spans them.
 */
import { performance } from 'node:perf_hooks';

/** The default budget of one slice. */
export const SLICE_MS = 4;

/** How many calls of `due` share one look at the clock. */
const CALLS_PER_LOOK = 64;

export class TimeSlicer {
  private sliceStart = performance.now();
  private calls = 0;

  constructor(private readonly budgetMs = SLICE_MS) {}

  /**
   * Whether the slice has used its budget, for a loop that asks once per rule:
   * `if (slicer.due()) await slicer.pause()`. No await when the answer is no, and a look at the
   * clock only once in {@link CALLS_PER_LOOK} calls.
   */
  due(): boolean {
    this.calls += 1;
    return this.calls % CALLS_PER_LOOK === 0 && performance.now() - this.sliceStart >= this.budgetMs;
  }

  /** Yields to the event loop once the current slice has used its budget; returns at once otherwise. */
  async pause(): Promise<void> {
    if (performance.now() - this.sliceStart < this.budgetMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.sliceStart = performance.now();
  }
}
