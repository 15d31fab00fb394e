/**
 * The cost of size padding (PROTOCOL.md §6.5) in bytes, and what it hides, on real encoder output:
 * the synthetic 1080p30 scene encoded at the sim board's 4 Mbps, once moving and once still (the
 * first frame repeated: a camera that sees nothing). Each policy seals the same chunks with the
 * real sealer, and the figures are ratios against the unpadded stream of the same run (the anchor).
 *
 *   overhead        wire bytes with the policy ÷ without (live messages; envelopes agree within 1 %)
 *   still÷moving    what the relay sees of a still scene ÷ a moving one, per second of video: far
 *                   below 1 means the relay can tell an empty room from motion by volume alone
 *   P-frame sizes   distinct live-message sizes of non-key chunks: how many size classes leak
 *
 * Used by bench/seal.ts (`npm run bench:seal`, options --padding-frames N, default 180).
 */
import { CameraEpochs, Identity, LIVE_HEADER_BYTES, SEAL_BYTES, SegmentSealer, STANDARD_PADDING, formatPaddingPolicy, openRoster, parsePaddingPolicy, signRoster, systemRandom, type PaddingPolicy } from '../src/protocol/index.js';
import { SyntheticSource } from '../src/media/synthetic.js';
import { H264Encoder, type EncodedOutput } from '../src/media/encoder.js';
import { Segmenter } from '../src/media/segmenter.js';
import type { RawFrame } from '../src/media/source.js';

const FPS = 30;
const BITRATE = 4_000_000;

interface Segment {
  kind: 'init' | 'media';
  chunks: { bytes: Uint8Array; key: boolean }[];
}

/** Encode `frames` frames of the scene and cut them exactly as the camera does. */
async function encodeScene(frames: number, still: boolean): Promise<Segment[]> {
  const source = new SyntheticSource({ maxFrames: frames, fps: FPS, seed: 7 });
  const units: EncodedOutput[] = [];
  const encoder = new H264Encoder({ width: 1920, height: 1080, fps: FPS, bitrate: BITRATE, keyframeIntervalUs: 2_000_000, maxQueue: 8 }, (u) => units.push(u));
  let first: Uint8Array | null = null;
  for await (const frame of source.units()) {
    first ??= frame.data.slice();
    const input: RawFrame = still ? { ...frame, data: first } : frame;
    await encoder.waitForRoom();
    encoder.encode(input);
  }
  await encoder.flush();
  encoder.close();
  const segments: Segment[] = [];
  let current: Segment | null = null;
  let keyNext = false;
  const segmenter = new Segmenter(
    { width: 1920, height: 1080, fps: FPS, segmentDurationUs: 2_000_000, chunkFrames: 1 },
    {
      init: (i) => void segments.push({ kind: 'init', chunks: [{ bytes: i.bytes, key: false }] }),
      segmentStart: () => {
        current = { kind: 'media', chunks: [] };
        segments.push(current);
        keyNext = true;
      },
      chunk: (bytes) => {
        current!.chunks.push({ bytes, key: keyNext });
        keyNext = false;
      },
      segmentEnd: () => undefined,
    },
  );
  for (const u of units) await segmenter.push(u);
  await segmenter.end();
  return segments;
}

interface Sealed {
  liveBytes: number;
  envelopeBytes: number;
  pFrameSizes: Set<number>;
}

function sealAll(segments: Segment[], padding: PaddingPolicy | null): Sealed {
  const camera = Identity.generate(systemRandom);
  const owner = Identity.generate(systemRandom);
  const epochs = new CameraEpochs(camera, systemRandom, 0);
  epochs.rotate(openRoster(signRoster(owner, { cameraId: camera.id, rosterVersion: 1, issuedAt: Date.now(), viewers: [owner.public] }), owner.signPublicKey), Date.now());
  const sealer = new SegmentSealer(camera, epochs, systemRandom, 0, { padding });
  const out: Sealed = { liveBytes: 0, envelopeBytes: 0, pFrameSizes: new Set() };
  for (const s of segments) {
    const w = sealer.begin({ kind: s.kind, captureTime: Date.now() });
    s.chunks.forEach((c, i) => {
      const last = i === s.chunks.length - 1;
      const live = w.addChunk(c.bytes, { last });
      if (s.kind === 'media') {
        out.liveBytes += live.length;
        if (!c.key && !last) out.pFrameSizes.add(live.length - LIVE_HEADER_BYTES);
      }
    });
    const envelope = w.finish({ durationMs: 2000 });
    out.envelopeBytes += envelope.length;
    if (s.kind === 'media') out.liveBytes += SEAL_BYTES;
  }
  return out;
}

export interface PaddingCost {
  frames: number;
  streamBitrate: number;
  anchor: { name: string; movingMbps: number; stillMbps: number; stillOverMoving: number; pFrameSizesMoving: number; pFrameSizesStill: number };
  policies: { policy: string; overheadMoving: number; overheadStill: number; envelopeOverheadMoving: number; stillOverMoving: number; pFrameSizesMoving: number; pFrameSizesStill: number }[];
}

/** Policies compared: the standard preset, powers of two, powers of four, and one size for every P-frame. */
export const COMPARED_POLICIES = [formatPaddingPolicy(STANDARD_PADDING), 'chunks=1K,2K,4K,8K,16K,32K,64K,128K,256K;segment=256K', 'chunks=1K,4K,16K,64K,256K;segment=256K', 'chunks=32K,256K;segment=1M'];

export async function measurePaddingCost(frames: number, progress: (msg: string) => void): Promise<PaddingCost> {
  progress(`padding: encoding ${frames} frames of 1080p30 at 4 Mbps, moving`);
  const moving = await encodeScene(frames, false);
  progress(`padding: encoding ${frames} frames of 1080p30 at 4 Mbps, still`);
  const still = await encodeScene(frames, true);
  const seconds = frames / FPS;
  const mbps = (bytes: number) => (bytes * 8) / seconds / 1e6;
  const base = { moving: sealAll(moving, null), still: sealAll(still, null) };
  const policies = COMPARED_POLICIES.map((spec) => {
    progress(`padding: sealing both scenes with --pad ${spec}`);
    const policy = parsePaddingPolicy(spec)!;
    const m = sealAll(moving, policy);
    const s = sealAll(still, policy);
    return {
      policy: spec,
      overheadMoving: m.liveBytes / base.moving.liveBytes,
      overheadStill: s.liveBytes / base.still.liveBytes,
      envelopeOverheadMoving: m.envelopeBytes / base.moving.envelopeBytes,
      stillOverMoving: s.liveBytes / m.liveBytes,
      pFrameSizesMoving: m.pFrameSizes.size,
      pFrameSizesStill: s.pFrameSizes.size,
    };
  });
  return {
    frames,
    streamBitrate: BITRATE,
    anchor: {
      name: 'no padding (--pad off)',
      movingMbps: mbps(base.moving.liveBytes),
      stillMbps: mbps(base.still.liveBytes),
      stillOverMoving: base.still.liveBytes / base.moving.liveBytes,
      pFrameSizesMoving: base.moving.pFrameSizes.size,
      pFrameSizesStill: base.still.pFrameSizes.size,
    },
    policies,
  };
}

export function formatPaddingCost(c: PaddingCost): string[] {
  const f = (n: number, d = 2) => n.toFixed(d);
  return [
    `  padding (PROTOCOL §6.5), ${c.frames} frames of real 1080p30 H.264 at ${c.streamBitrate / 1e6} Mbps, moving and still scene:`,
    `    anchor --pad off                          moving ${f(c.anchor.movingMbps)} Mbps, still ${f(c.anchor.stillMbps)} Mbps; still÷moving ${f(c.anchor.stillOverMoving)}; P-frame sizes ${c.anchor.pFrameSizesMoving} / ${c.anchor.pFrameSizesStill}`,
    ...c.policies.map(
      (p) =>
        `    --pad ${p.policy.padEnd(34)} bytes ×${f(p.overheadMoving)} moving, ×${f(p.overheadStill)} still (envelopes ×${f(p.envelopeOverheadMoving)}); still÷moving ${f(p.stillOverMoving)}; P-frame sizes ${p.pFrameSizesMoving} / ${p.pFrameSizesStill}`,
    ),
  ];
}
