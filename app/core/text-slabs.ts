/**
 * UTF-8 copies of texts, cut from shared slabs outside the JavaScript heap. Held checks keep
 * their JSON here (check-service.ts): as strings on the heap every young-generation collection
 * copied them until they were promoted; as a Buffer each, 20 KB made and freed through the C
 * allocator at every check left about 40 MB in its free lists (RSS 284–289 MB after 6,000
 * checks against 258–265 MB, with a heap 24 MB smaller). A slab is freed as a whole once no copy
 * cut from it is referenced, which for texts dropped roughly in the order they were made (oldest
 * held check first) is soon.
 */

/** Bytes of one slab; a text longer than this gets a buffer of its own. */
export const SLAB_BYTES = 1024 * 1024;

export class TextSlabs {
  private slab: Buffer | undefined;
  private used = 0;

  constructor(private readonly slabBytes = SLAB_BYTES) {}

  /** The text's UTF-8 bytes, in a view of the current slab (or of a new one when it is full). */
  copy(text: string): Buffer {
    // A UTF-16 unit never takes more than 3 UTF-8 bytes: when that much room is left the text
    // is written without first being measured, which was a second pass over every text.
    if (!this.slab || this.used + text.length * 3 > this.slabBytes) {
      const length = Buffer.byteLength(text, 'utf8');
      if (length > this.slabBytes) return Buffer.from(text, 'utf8');
      if (!this.slab || this.used + length > this.slabBytes) {
        this.slab = Buffer.allocUnsafeSlow(this.slabBytes);
        this.used = 0;
      }
    }
    const start = this.used;
    this.used += this.slab.write(text, start, 'utf8');
    return this.slab.subarray(start, this.used);
  }
}
