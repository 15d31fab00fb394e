/**
 * Playing recorded video with a scrubber: a clip is the opened media segments of one hour, each
 * with the init of its run, laid out on the camera's signed capture times. `seek(ms)` decodes the
 * segment that holds that moment (from its first keyframe, as every segment starts with one) and
 * shows the frame at it; while playing, frames follow at their own pace and the next segment of the
 * clip follows the last. A moment in a gap (segments missing or rejected) goes to the next segment
 * that plays: nothing is spliced over silently, the gap stays on the timeline.
 */
import { decodeSegment } from './player.js';

export interface ClipSegment {
  seq: number;
  /** the camera's signed capture time of the segment's first frame, ms since the Unix epoch */
  start: number;
  durationMs: number;
  init: Uint8Array;
  payload: Uint8Array;
}

export interface PlaybackState {
  /** the moment on the canvas, ms since the Unix epoch */
  positionMs: number;
  seq: number;
  playing: boolean;
  framesDrawn: number;
}

export class Playback {
  readonly state: PlaybackState;
  private generation = 0;
  private readonly ctx: CanvasRenderingContext2D;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    private readonly clip: readonly ClipSegment[],
    private readonly onChange: (s: PlaybackState) => void,
    private readonly onError: (e: unknown) => void,
  ) {
    this.ctx = canvas.getContext('2d', { alpha: false })!;
    this.state = { positionMs: clip[0]?.start ?? 0, seq: clip[0]?.seq ?? -1, playing: false, framesDrawn: 0 };
  }

  get startMs(): number {
    return this.clip[0]?.start ?? 0;
  }

  get endMs(): number {
    const last = this.clip.at(-1);
    return last ? last.start + last.durationMs : 0;
  }

  /** Show the moment `ms` (clamped to the clip), and play on from it when `play`. */
  seek(ms: number, play: boolean): Promise<void> {
    const i = this.segmentAt(ms);
    if (i < 0) return Promise.resolve();
    const offset = Math.max(0, ms - this.clip[i]!.start);
    return this.run(++this.generation, i, offset, play);
  }

  pause(): void {
    this.generation++;
    this.state.playing = false;
    this.onChange(this.state);
  }

  /**
   * The segment holding `ms` — the latest one starting at or before it, since a segment's duration
   * can reach a few ms past the next one's start — or the first one after it (a gap), or the last.
   */
  private segmentAt(ms: number): number {
    if (this.clip.length === 0) return -1;
    let i = this.clip.length - 1;
    while (i > 0 && this.clip[i]!.start > ms) i--;
    const s = this.clip[i]!;
    if (s.start > ms) return 0; // before the clip
    if (ms < s.start + s.durationMs || i === this.clip.length - 1) return i;
    return i + 1; // in a gap: the next segment
  }

  private async run(gen: number, index: number, offsetMs: number, play: boolean): Promise<void> {
    this.state.playing = play;
    for (let i = index; i < this.clip.length && gen === this.generation; i++) {
      const seg = this.clip[i]!;
      let frames: VideoFrame[];
      try {
        frames = await decodeSegment(seg.init, seg.payload);
      } catch (e) {
        if (gen === this.generation) this.onError(e);
        return;
      }
      try {
        const t0 = frames[0]?.timestamp ?? 0;
        const at = (f: VideoFrame) => (f.timestamp - t0) / 1000;
        // the frame showing at the offset: the last one that starts at or before it
        let k = 0;
        while (i === index && k + 1 < frames.length && at(frames[k + 1]!) <= offsetMs) k++;
        const wall = performance.now() - at(frames[k] ?? frames[0]!);
        for (; k < frames.length && gen === this.generation; k++) {
          const wait = at(frames[k]!) - (performance.now() - wall);
          if (k > 0 && wait > 0) await new Promise((r) => setTimeout(r, wait));
          if (gen !== this.generation) break;
          this.draw(frames[k]!, seg, at(frames[k]!));
          if (!play) break;
        }
      } finally {
        for (const f of frames) f.close();
      }
      if (!play) return;
    }
    if (gen === this.generation) {
      this.state.playing = false;
      this.onChange(this.state);
    }
  }

  private draw(frame: VideoFrame, seg: ClipSegment, atMs: number): void {
    if (this.canvas.width !== frame.displayWidth) {
      this.canvas.width = frame.displayWidth;
      this.canvas.height = frame.displayHeight;
    }
    this.ctx.drawImage(frame, 0, 0);
    this.state.framesDrawn++;
    this.state.positionMs = seg.start + atMs;
    this.state.seq = seg.seq;
    this.onChange(this.state);
  }
}
