/**
 * Cuts long work on the thread that also answers checks into slices of a few milliseconds, with
 * a turn of the event loop between them (product.md: p99 ≤ 10 ms while a pack applies). One
 * slicer is shared by the steps of one job, so a slice's budget spans them.
 */
import { performance } from 'node:perf_hooks';

/** The default budget of one slice. */
export const SLICE_MS = 4;

export class TimeSlicer {
  private sliceStart = performance.now();

  constructor(private readonly budgetMs = SLICE_MS) {}

  /** Yields to the event loop once the current slice has used its budget; returns at once otherwise. */
  async pause(): Promise<void> {
    if (performance.now() - this.sliceStart < this.budgetMs) return;
    await new Promise<void>((resolve) => setImmediate(resolve));
    this.sliceStart = performance.now();
  }
}
