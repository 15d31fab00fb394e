/**
 * Writes test/vectors/segments.json: sealed segments with every key needed to open them, and
 * invalid cases each with the error code it must raise. Deterministic: all randomness comes from
 * a SHA-512 counter stream seeded with SEED, so re-running reproduces the file byte for byte.
 *
 *   npm run vectors            (rewrite the file)
 *   npm run vectors -- --check (exit 1 if the file differs from what the code produces)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import {
  ByteWriter,
  CameraEpochs,
  HEADER_BYTES,
  NONCE_BYTES,
  RANDOM_NONCE_BYTES,
  SIGNATURE_CONTEXT,
  chunkNonce,
  encodeHeader,
  encodeInner,
  frameChunk,
  fromHex,
  secretboxSeal,
  sha512,
  Identity,
  SEAL_BYTES,
  SegmentSealer,
  concatBytes,
  openRoster,
  signRoster,
  splitForTransport,
  toHex,
  type ErrorCode,
} from '../../src/protocol/index.js';
import { seededRandom } from '../helpers/fixtures.js';

export const SEED = 'sealcam-vectors-v1';
const T0 = Date.UTC(2026, 10, 29, 12, 0, 0);
const hex = toHex;
const text = (s: string) => new TextEncoder().encode(s);

type Step = { type: 'announcement' | 'segment' | 'live' | 'seal' | 'transport'; hex: string };

interface InvalidCase {
  name: string;
  /** Feed these in order to a fresh viewer (with the vector's keys); every step but the last must succeed. */
  steps: Step[];
  error: ErrorCode;
}

export function buildVectors() {
  const random = seededRandom(SEED);
  const camera = Identity.generate(random);
  const owner = Identity.generate(random);
  const stranger = Identity.generate(random);
  const otherCamera = Identity.generate(random);
  const rosterBytes = signRoster(owner, { cameraId: camera.id, rosterVersion: 1, issuedAt: T0, viewers: [owner.public] });
  const roster = openRoster(rosterBytes, owner.signPublicKey);
  const epochs = new CameraEpochs(camera, random, 0);
  const announcement = epochs.rotate(roster, T0);
  const epoch1Key = hex(epochs.epoch.key);
  const sealer = new SegmentSealer(camera, epochs, random, 0);

  const init = sealer.seal({ kind: 'init', captureTime: T0, durationMs: 0, payload: text('ftyp....moov.... (init segment)') });
  const w = sealer.begin({ kind: 'media', captureTime: T0 + 40 });
  const mediaChunks = [text('moof+mdat part 0'), text('moof+mdat part 1'), text('moof+mdat part 2 (last)')];
  const media1Live = mediaChunks.map((c, i) => w.addChunk(c, { last: i === mediaChunks.length - 1 }));
  const media1 = w.finish({ durationMs: 2000 });
  const media2 = sealer.seal({ kind: 'media', captureTime: T0 + 2040, durationMs: 2000, payload: text('second media segment') });
  const final = sealer.seal({ kind: 'media', captureTime: T0 + 4040, durationMs: 1000, payload: text('last media segment'), final: true });

  // Epoch 2 after a roster change, for the unknown-epoch case: not announced to the vector viewer.
  const otherEpochs = new CameraEpochs(otherCamera, random, 0);
  otherEpochs.rotate(openRoster(signRoster(owner, { cameraId: otherCamera.id, rosterVersion: 1, issuedAt: T0, viewers: [owner.public] }), owner.signPublicKey), T0);
  const foreign = new SegmentSealer(otherCamera, otherEpochs, random, 0).seal({ kind: 'media', captureTime: T0, durationMs: 2000, payload: text('someone else\u2019s living room') });
  const epochs2 = new CameraEpochs(camera, random, 1);
  epochs2.rotate(openRoster(signRoster(owner, { cameraId: camera.id, rosterVersion: 2, issuedAt: T0, viewers: [owner.public] }), owner.signPublicKey), T0);
  const unknownEpoch = new SegmentSealer(camera, epochs2, random, 100).seal({ kind: 'media', captureTime: T0, durationMs: 2000, payload: text('epoch 2') });

  // A camera that talks to no viewer but the stranger: the owner is not on this epoch's roster.
  const strangerOnly = new CameraEpochs(camera, random, 5).rotate({ cameraId: camera.id, rosterVersion: 9, issuedAt: T0, viewers: [stranger.public] }, T0);

  /**
   * Envelopes that only a buggy or malicious camera could make: genuinely signed, but with a bad
   * inside. They exercise the checks after the signature (§6.3 steps 5 and 6).
   */
  const craft = (o: { key?: Uint8Array; flipTag?: boolean; innerSeq?: number; innerLast?: boolean }) => {
    const seq = 0;
    const nonce = new ByteWriter(NONCE_BYTES).raw(random(RANDOM_NONCE_BYTES)).u64(seq).u32(0).done();
    const inner = encodeInner({ kind: 'media', last: o.innerLast ?? true, cameraId: camera.id, epoch: 1, seq: o.innerSeq ?? seq, captureTime: T0, chunkIndex: 0 }, text('crafted'));
    const ct = secretboxSeal(inner, chunkNonce(nonce, 0), o.key ?? fromHex(epoch1Key));
    if (o.flipTag) ct[0]! ^= 0x01;
    const body = frameChunk(ct);
    const header = encodeHeader({ kind: 'media', final: false, cameraId: camera.id, epoch: 1, seq, captureTime: T0, durationMs: 2000, chunkCount: 1, bodyLength: body.length, nonce });
    return concatBytes(header, camera.signer.sign(concatBytes(SIGNATURE_CONTEXT, header, sha512(body))), body);
  };

  const flip = (b: Uint8Array, at: number, mask = 0x01) => {
    const c = b.slice();
    c[at]! ^= mask;
    return c;
  };
  const seg = (b: Uint8Array): Step => ({ type: 'segment', hex: hex(b) });
  const ann: Step = { type: 'announcement', hex: hex(announcement) };
  const pieces = splitForTransport(media1, 64);

  const invalid: InvalidCase[] = [
    { name: 'flipped Poly1305 tag of chunk 0 in transit: the signature covers the body, so it fails first', steps: [ann, seg(flip(init, SEAL_BYTES + 4))], error: 'E_BAD_SIGNATURE' },
    { name: 'flipped signature byte', steps: [ann, seg(flip(init, HEADER_BYTES + 10))], error: 'E_BAD_SIGNATURE' },
    { name: 'flipped header byte (captureTime)', steps: [ann, seg(flip(init, 43))], error: 'E_BAD_SIGNATURE' },
    { name: 'wrong camera: segment from a camera the viewer never paired', steps: [ann, seg(foreign)], error: 'E_FOREIGN_CAMERA' },
    { name: 'wrong camera even with a broken signature: foreign check comes first', steps: [ann, seg(flip(foreign, HEADER_BYTES))], error: 'E_FOREIGN_CAMERA' },
    { name: 'unknown epoch: sealed under epoch 2, which was never announced to this viewer', steps: [ann, seg(unknownEpoch)], error: 'E_UNKNOWN_EPOCH' },
    { name: 'replay: the same segment twice', steps: [ann, seg(init), seg(init)], error: 'E_REPLAY' },
    { name: 'reorder: seq 1 after seq 2', steps: [ann, seg(init), seg(media2), seg(media1)], error: 'E_REORDERED' },
    { name: 'truncated envelope (last byte missing)', steps: [ann, seg(init.subarray(0, init.length - 1))], error: 'E_MALFORMED' },
    { name: 'truncated to the header only', steps: [ann, seg(init.subarray(0, HEADER_BYTES))], error: 'E_MALFORMED' },
    { name: 'bad magic', steps: [ann, seg(flip(init, 0, 0xff))], error: 'E_BAD_MAGIC' },
    { name: 'unsupported version 2', steps: [ann, seg(flip(init, 4, 0x03))], error: 'E_UNSUPPORTED_VERSION' },
    { name: 'unknown kind 3', steps: [ann, seg(flip(init, 5, 0x02))], error: 'E_UNKNOWN_KIND' },
    { name: 'unknown flag bit 7', steps: [ann, seg(flip(init, 6, 0x80))], error: 'E_UNKNOWN_FLAGS' },
    { name: 'stream truncated: no FINAL segment before the end', steps: [ann, seg(init), seg(media1), { type: 'segment', hex: 'end' }], error: 'E_TRUNCATED' },
    { name: 'live chunk out of order (chunk 1 before chunk 0)', steps: [ann, { type: 'live', hex: hex(media1Live[1]!) }], error: 'E_REORDERED' },
    { name: 'live chunk with flipped ciphertext byte', steps: [ann, { type: 'live', hex: hex(flip(media1Live[0]!, 80)) }], error: 'E_DECRYPT' },
    { name: 'seal before all live chunks arrived', steps: [ann, { type: 'live', hex: hex(media1Live[0]!) }, { type: 'seal', hex: hex(media1.subarray(0, SEAL_BYTES)) }], error: 'E_LIVE_INCOMPLETE' },
    { name: 'bad chunk header: transport piece with index beyond count', steps: [{ type: 'transport', hex: hex(flip(pieces[0]!, 7, 0x7f)) }], error: 'E_CHUNK_HEADER' },
    { name: 'bad chunk header: transport piece whose offset puts its data past totalLength', steps: [{ type: 'transport', hex: hex(flip(pieces[0]!, 16, 0x7f)) }], error: 'E_CHUNK_HEADER' },
    { name: 'transport piece with a changed data byte: reassembled envelope fails its hash', steps: [...pieces.slice(0, -1).map((p): Step => ({ type: 'transport', hex: hex(p) })), { type: 'transport', hex: hex(flip(pieces.at(-1)!, 52)) }], error: 'E_CHUNK_MISMATCH' },
    { name: 'announcement whose roster does not include this viewer', steps: [{ type: 'announcement', hex: hex(strangerOnly) }], error: 'E_NOT_ON_ROSTER' },
    { name: 'signed by the camera, but chunk 0 was sealed under a key other than the announced epoch key', steps: [ann, seg(craft({ key: random(32) }))], error: 'E_DECRYPT' },
    { name: 'signed by the camera, but the Poly1305 tag of chunk 0 is flipped before signing', steps: [ann, seg(craft({ flipTag: true }))], error: 'E_DECRYPT' },
    { name: 'signed by the camera, but the inner header names seq 7 while the header says 0', steps: [ann, seg(craft({ innerSeq: 7 }))], error: 'E_INNER_HEADER' },
    { name: 'signed by the camera, but chunk 0 of a one-chunk segment lacks LAST_CHUNK', steps: [ann, seg(craft({ innerLast: false }))], error: 'E_INNER_HEADER' },
    { name: 'announcement with a flipped signature byte', steps: [{ type: 'announcement', hex: hex(flip(announcement, announcement.length - 5)) }], error: 'E_BAD_SIGNATURE' },
  ];

  return {
    source: `generated by test/vectors/generate.ts (npm run vectors) with seeded randomness "${SEED}"; checked by test/vectors.test.ts and by the independent Python/libsodium reader in test/interop/`,
    description: [
      'Sealed-segment vectors for docs/PROTOCOL.md §4-§10 (schema in §12).',
      'camera: the pinned camera (id, signPublicKey, boxPublicKey). viewer: the owner viewer every case is opened as; boxSecretKey is its X25519 secret,',
      'identitySecret is Ed25519 seed (32) || X25519 secret (32). stranger: a second viewer, not on the roster. roster: the owner-signed roster (SCR1).',
      'announcement: the epoch 1 announcement (SCK1); epochKeys: the epoch key it wraps, for checking.',
      'valid: envelopes to open in order after the announcement; expect = header fields (kind "init"/"media", seq, epoch, final, captureTime, durationMs)',
      'and chunks = the payload of each chunk in hex. The stream is complete (FINAL) after the last one.',
      'live: with a fresh viewer, open the announcement and valid[0], then accept each live chunk (payloads = expectPayloads) and confirm with seal.',
      'transport: pieces (SCC1, maxMessageBytes each) that reassemble to envelope.',
      'invalid: feed steps in order to a fresh viewer; every step but the last succeeds and the last raises error.',
      'A step {type:"segment", hex:"end"} means the stream ends there (E_TRUNCATED without FINAL).',
    ].join(' '),
    camera: { id: hex(camera.id), signPublicKey: hex(camera.signPublicKey), boxPublicKey: hex(camera.boxPublicKey) },
    viewer: { id: hex(owner.id), signPublicKey: hex(owner.signPublicKey), boxPublicKey: hex(owner.boxPublicKey), boxSecretKey: hex(owner.box.secretKey), identitySecret: hex(owner.exportSecret()) },
    stranger: { id: hex(stranger.id), boxSecretKey: hex(stranger.box.secretKey) },
    roster: hex(rosterBytes),
    announcement: hex(announcement),
    epochKeys: { '1': epoch1Key },
    valid: [
      { name: 'init segment', hex: hex(init), expect: { kind: 'init', seq: 0, epoch: 1, final: false, captureTime: T0, durationMs: 0, chunks: [hex(text('ftyp....moov.... (init segment)'))] } },
      { name: 'media segment of three chunks', hex: hex(media1), expect: { kind: 'media', seq: 1, epoch: 1, final: false, captureTime: T0 + 40, durationMs: 2000, chunks: mediaChunks.map(hex) } },
      { name: 'media segment', hex: hex(media2), expect: { kind: 'media', seq: 2, epoch: 1, final: false, captureTime: T0 + 2040, durationMs: 2000, chunks: [hex(text('second media segment'))] } },
      { name: 'final media segment', hex: hex(final), expect: { kind: 'media', seq: 3, epoch: 1, final: true, captureTime: T0 + 4040, durationMs: 1000, chunks: [hex(text('last media segment'))] } },
    ],
    live: {
      name: 'the three-chunk media segment as live chunks, then its seal (after the init segment was opened)',
      chunks: media1Live.map(hex),
      seal: hex(media1.subarray(0, SEAL_BYTES)),
      expectPayloads: mediaChunks.map(hex),
    },
    transport: { name: 'the three-chunk media segment split into 64-byte messages', maxMessageBytes: 64, pieces: pieces.map(hex), envelope: hex(media1) },
    invalid,
  };
}

const out = fileURLToPath(new URL('./segments.json', import.meta.url));
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const json = `${JSON.stringify(buildVectors(), null, 2)}\n`;
  if (process.argv.includes('--check')) {
    if (readFileSync(out, 'utf8') !== json) {
      console.error('test/vectors/segments.json is out of date: run npm run vectors');
      process.exit(1);
    }
    console.log('segments.json is up to date');
  } else {
    writeFileSync(out, json);
    console.log(`wrote ${out}`);
  }
}
