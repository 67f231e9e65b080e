/**
 * UTF-8 copies of texts, cut from shared slabs outside the JavaScript heap. Held checks keep
 * their JSON here (check-service.ts): as strings on the heap every young-generation collection
 * copied them until they were promoted; as a Buffer each, 20 KB made and freed through the C
 * allocator at every check left about 40 MB in its free lists (RSS 284–289 MB after 6,000
 * checks against 258–265 MB, with a heap 24 MB smaller).
 *
 * A slab is used again once every text cut from it has been released, instead of being left to
 * the garbage collector: slabs were freed only by full collections, which under load came
 * rarely (none in a 3,500-check run), and the C allocator, which by then served them from its
 * heap, kept what they had used in RSS
 * (docs/benchmarks.md, "Held checks"). A copy that is never released is simply not reused:
 * its slab is freed by the collector once nothing refers to it, as before. So the one rule for
 * callers is that a copy is released at most once, and only when nothing will read it again.
 */

/** Bytes of one slab; a text longer than this gets a buffer of its own. */
export const SLAB_BYTES = 1024 * 1024;
/**
 * Emptied slabs kept for reuse. Held checks are forgotten oldest first, so slabs empty in the
 * order they were filled and one or two spares are enough; more are left to the collector.
 */
const SPARE_SLABS = 4;

interface Slab {
  readonly bytes: Buffer;
  used: number;
  /** Copies cut from it and not yet released. */
  live: number;
}

export class TextSlabs {
  private current: Slab | undefined;
  private readonly spares: Slab[] = [];
  /** Keyed by the slab's memory, which every copy cut from it refers to; weak, so an unreleased slab can still be freed. */
  private readonly slabOf = new WeakMap<ArrayBufferLike, Slab>();

  constructor(private readonly slabBytes = SLAB_BYTES) {}

  /**
   * The text's UTF-8 bytes, in a view of the current slab (or of a new one when it is full).
   * Its memory is written again once it is released: hand {@link release} only what no one
   * reads any more, and give a transport a copy of it, not the view.
   */
  copy(text: string): Buffer {
    let slab = this.current;
    // A UTF-16 unit never takes more than 3 UTF-8 bytes: when that much room is left the text
    // is written without first being measured, which was a second pass over every text.
    if (!slab || slab.used + text.length * 3 > this.slabBytes) {
      const length = Buffer.byteLength(text, 'utf8');
      if (length > this.slabBytes) return Buffer.from(text, 'utf8');
      if (!slab || slab.used + length > this.slabBytes) slab = this.nextSlab();
    }
    const start = slab.used;
    slab.used += slab.bytes.write(text, start, 'utf8');
    slab.live += 1;
    return slab.bytes.subarray(start, slab.used);
  }

  /** Gives a copy back: once all of a slab's copies are back, the slab is written again. */
  release(copy: Buffer): void {
    const slab = this.slabOf.get(copy.buffer);
    // A text that had a buffer of its own: the collector frees it.
    if (!slab) return;
    slab.live -= 1;
    if (slab.live === 0 && slab !== this.current) this.recycle(slab);
  }

  private nextSlab(): Slab {
    const full = this.current;
    if (full && full.live === 0) this.recycle(full);
    const slab = this.spares.pop() ?? this.newSlab();
    slab.used = 0;
    this.current = slab;
    return slab;
  }

  private newSlab(): Slab {
    const slab: Slab = { bytes: Buffer.allocUnsafeSlow(this.slabBytes), used: 0, live: 0 };
    this.slabOf.set(slab.bytes.buffer, slab);
    return slab;
  }

  private recycle(slab: Slab): void {
    if (this.spares.length < SPARE_SLABS) this.spares.push(slab);
  }
}
