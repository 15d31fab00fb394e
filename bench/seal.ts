/**
 * npm run bench:seal — what sealing costs, as ratios against tweetnacl's raw secretbox measured
 * in the same run (the anchor), so the figures mean the same on a slow or busy machine.
 *
 *   seal+sign 1 MB segment   (60 live chunks of ~16.7 KB, one per two frames... see below)
 *   verify+open 1 MB segment
 *   cost per 16 KB live chunk (seal side, and open side)
 *   CPU share of one core to seal a 4 Mbps 1080p30 stream: 30 chunks a second, one signed
 *   segment every 2 s. The goal is <= 2 %.
 *
 * Then the cost of size padding in bytes, on real 1080p30 H.264 (bench/padding.ts).
 *
 * Options: --json (print one JSON object), --rounds N (default 5; the median is reported),
 * --padding-frames N (frames encoded per scene for the padding figures, default 180; 0 skips them).
 */
import nacl from 'tweetnacl';
import { randomBytes } from 'node:crypto';
import { formatPaddingCost, measurePaddingCost } from './padding.js';
import { CameraEpochs, Identity, SEAL_BYTES, SegmentSealer, Viewer, openRoster, publicIdentity, signRoster, type RandomSource } from '../src/protocol/index.js';

const args = process.argv.slice(2);
const asJson = args.includes('--json');
const roundsArg = args.indexOf('--rounds');
const ROUNDS = roundsArg >= 0 ? Number(args[roundsArg + 1]) : 5;
if (!Number.isInteger(ROUNDS) || ROUNDS < 1) {
  console.error('--rounds: expected a positive integer');
  process.exit(2);
}

const paddingArg = args.indexOf('--padding-frames');
const PADDING_FRAMES = paddingArg >= 0 ? Number(args[paddingArg + 1]) : 180;
if (!Number.isInteger(PADDING_FRAMES) || PADDING_FRAMES < 0) {
  console.error('--padding-frames: expected a non-negative integer');
  process.exit(2);
}

const random: RandomSource = (n) => new Uint8Array(randomBytes(n));
const MB = 1_000_000;
const STREAM_BPS = 4_000_000;
const FPS = 30;
const SEGMENT_SECONDS = 2;

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** Median seconds per call of `fn`, over ROUNDS rounds of `reps` calls each. */
function time(reps: number, fn: () => void): number {
  fn(); // warm-up
  const rounds: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < reps; i++) fn();
    rounds.push(Number(process.hrtime.bigint() - t0) / 1e9 / reps);
  }
  return median(rounds);
}

const progress = (msg: string) => {
  if (!asJson) process.stderr.write(`  … ${msg}\n`);
};

// Set-up: a camera and its owner, epoch 1.
const camera = Identity.generate(random);
const owner = Identity.generate(random);
const roster = openRoster(signRoster(owner, { cameraId: camera.id, rosterVersion: 1, issuedAt: Date.now(), viewers: [owner.public] }), owner.signPublicKey);
const epochs = new CameraEpochs(camera, random, 0);
const announcement = epochs.rotate(roster, Date.now());
const sealer = new SegmentSealer(camera, epochs, random, 0);

const segment = random(MB);
const chunkBytes = Math.round(STREAM_BPS / 8 / FPS); // ~16.7 KB: one live chunk per frame
const chunksPerSegment = FPS * SEGMENT_SECONDS;
const liveChunk16k = random(16 * 1024);

progress('anchor: tweetnacl secretbox on 1 MB and 16 KB');
const key = random(32);
const nonce = random(24);
const anchor1MB = time(10, () => nacl.secretbox(segment, nonce, key));
const anchor16K = time(400, () => nacl.secretbox(liveChunk16k, nonce, key));

progress('seal+sign a 1 MB segment as one chunk');
const sealOneChunk = time(10, () => sealer.seal({ kind: 'media', captureTime: Date.now(), durationMs: 2000, payload: segment }));

progress(`seal a 2 s 4 Mbps segment as ${chunksPerSegment} live chunks of ${chunkBytes} bytes, then sign`);
const sealLive = time(5, () => {
  const w = sealer.begin({ kind: 'media', captureTime: Date.now() });
  for (let i = 0; i < chunksPerSegment; i++) w.addChunk(segment.subarray(i * chunkBytes, (i + 1) * chunkBytes), { last: i === chunksPerSegment - 1 });
  w.finish({ durationMs: 2000 });
});

progress('per 16 KB live chunk, seal side');
const w = sealer.begin({ kind: 'media', captureTime: Date.now() });
let added = 0;
const perChunkSeal = time(200, () => {
  if (added++ < 4000) w.addChunk(liveChunk16k);
});
w.abort();

progress('verify+open a 1 MB segment');
// Fresh viewers so the stream state never sees a replay: each opens its own copy of a new seq.
const envelopes: Uint8Array[] = Array.from({ length: 6 * (ROUNDS + 1) }, () => sealer.seal({ kind: 'media', captureTime: Date.now(), durationMs: 2000, payload: segment }));
const viewer = new Viewer(owner);
const view = viewer.pin(publicIdentity(camera.signPublicKey, camera.boxPublicKey), { maxForwardJump: 1_000_000 });
view.addAnnouncement(announcement);
let next = 0;
const openOne = time(5, () => view.openSegment(envelopes[next++]!));

progress('per 16 KB live chunk, viewer side (open, then confirm by seal)');
const liveW = sealer.begin({ kind: 'media', captureTime: Date.now() });
const liveMsgs = Array.from({ length: 60 }, (_, i) => liveW.addChunk(liveChunk16k, { last: i === 59 }));
const liveSeal = liveW.finish({ durationMs: 2000 }).subarray(0, SEAL_BYTES);
// Re-open the same 60 chunks through a fresh view each round (views made outside the timing).
const liveViews = Array.from({ length: ROUNDS + 1 }, () => {
  const v = new Viewer(owner).pin(publicIdentity(camera.signPublicKey, camera.boxPublicKey));
  v.addAnnouncement(announcement);
  return v;
});
const openChunk =
  time(1, () => {
    const v = liveViews.pop()!;
    for (const m of liveMsgs) v.acceptLiveChunk(m);
    v.confirmLive(liveSeal);
  }) / liveMsgs.length;

progress('reference: Ed25519 signing 1 MB with tweetnacl (its JS SHA-512)');
const tweetnaclSign1MB = time(1, () => nacl.sign.detached(segment, nacl.sign.keyPair.fromSeed(random(32)).secretKey));

const mbps = (seconds: number) => MB / seconds / 1e6;
const secondsOfStreamPerSegment = SEGMENT_SECONDS;
const cpuShare = sealLive / secondsOfStreamPerSegment;
const results = {
  machine: { cpus: (await import('node:os')).cpus().length, node: process.version },
  anchor: { name: 'tweetnacl secretbox', oneMBperSecond: mbps(anchor1MB), chunk16KmicroSeconds: anchor16K * 1e6 },
  sealSign1MB: { mbPerSecond: mbps(sealOneChunk), ratioToAnchor: anchor1MB / sealOneChunk },
  sealSign2sLiveSegment: { chunks: chunksPerSegment, chunkBytes, mbPerSecond: mbps(sealLive), ratioToAnchor: anchor1MB / sealLive },
  verifyOpen1MB: { mbPerSecond: mbps(openOne), ratioToAnchor: anchor1MB / openOne },
  liveChunk16K: { sealMicroSeconds: perChunkSeal * 1e6, sealRatioToAnchor: perChunkSeal / anchor16K, openMicroSeconds: openChunk * 1e6, openRatioToAnchor: openChunk / anchor16K, chunksPerSecondOneCore: 1 / perChunkSeal },
  stream4Mbps1080p30: { cpuSharePercent: cpuShare * 100, goalPercent: 2, anchorOnlyPercent: (anchor1MB / secondsOfStreamPerSegment) * 100 },
  reference: { tweetnaclSign1MBms: tweetnaclSign1MB * 1e3, ratioToOurSealSign: tweetnaclSign1MB / sealOneChunk },
  padding: PADDING_FRAMES > 0 ? await measurePaddingCost(PADDING_FRAMES, progress) : null,
};

if (asJson) {
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
} else {
  const f = (n: number, d = 1) => n.toFixed(d);
  const lines = [
    `bench:seal — median of ${ROUNDS} rounds, ${results.machine.cpus} CPUs, node ${results.machine.node}`,
    `  anchor  tweetnacl secretbox, 1 MB             ${f(results.anchor.oneMBperSecond)} MB/s   (= 1.00)`,
    `  seal+sign 1 MB segment (1 chunk)              ${f(results.sealSign1MB.mbPerSecond)} MB/s   ratio ${f(results.sealSign1MB.ratioToAnchor, 2)}`,
    `  seal+sign 2 s segment, ${chunksPerSegment} live chunks        ${f(results.sealSign2sLiveSegment.mbPerSecond)} MB/s   ratio ${f(results.sealSign2sLiveSegment.ratioToAnchor, 2)}`,
    `  verify+open 1 MB segment                      ${f(results.verifyOpen1MB.mbPerSecond)} MB/s   ratio ${f(results.verifyOpen1MB.ratioToAnchor, 2)}`,
    `  live chunk 16 KB, seal                        ${f(results.liveChunk16K.sealMicroSeconds, 0)} µs     ×${f(results.liveChunk16K.sealRatioToAnchor, 2)} raw secretbox (${f(results.liveChunk16K.chunksPerSecondOneCore, 0)} chunks/s on one core)`,
    `  live chunk 16 KB, open + confirm share        ${f(results.liveChunk16K.openMicroSeconds, 0)} µs     ×${f(results.liveChunk16K.openRatioToAnchor, 2)} raw secretbox`,
    `  4 Mbps 1080p30 stream, sealing                ${f(results.stream4Mbps1080p30.cpuSharePercent, 2)} % of one core (goal ≤ 2 %; raw secretbox alone ${f(results.stream4Mbps1080p30.anchorOnlyPercent, 2)} %)`,
    `  reference: tweetnacl Ed25519 sign of 1 MB     ${f(results.reference.tweetnaclSign1MBms)} ms   (${f(results.reference.ratioToOurSealSign, 1)}× our whole seal+sign)`,
    ...(results.padding ? formatPaddingCost(results.padding) : []),
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}
