/**
 * Each decoded frame's capture time, for glass-to-glass latency. A live chunk carries its
 * segment's signed captureTime (the first frame's); a frame's own capture time is that plus how far
 * its media timestamp lies after the segment's first sample (chunk 0's first sample). This holds
 * for any frame rate and any number of frames per chunk. Pure, in src/protocol beside LiveSession
 * whose chunk events it times: used by the Node viewer and the page (which imports src/protocol only).
 */
const KEPT_SEGMENTS = 8;

export class CaptureClock {
  /** seq → the media timestamp (µs) of its segment's first sample */
  private readonly starts = new Map<number, number>();

  /**
   * The capture time (ms since the Unix epoch) of a sample at `timestampUs` in chunk `chunkIndex`
   * of segment `seq`, captured from `captureTime`; undefined when chunk 0 of that segment was not seen.
   */
  at(seq: number, chunkIndex: number, captureTime: number, timestampUs: number): number | undefined {
    if (chunkIndex === 0 && !this.starts.has(seq)) {
      this.starts.set(seq, timestampUs);
      while (this.starts.size > KEPT_SEGMENTS) this.starts.delete(this.starts.keys().next().value!);
    }
    const start = this.starts.get(seq);
    return start === undefined ? undefined : captureTime + (timestampUs - start) / 1000;
  }
}
