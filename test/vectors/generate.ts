/**
 * Writes test/vectors/segments.json: sealed segments with every key needed to open them, and
 * invalid cases each with the error code it must raise. Deterministic: all randomness comes from
 * a SHA-512 counter stream seeded with SEED, so re-running reproduces the file byte for byte.
 *
 *   npm run vectors            (rewrite the file)
 *   npm run vectors -- --check (exit 1 if the file differs from what the code produces)
 */
import { readFileSync, writeFileSync } from 'node:fs';
import nacl from 'tweetnacl';
import { fileURLToPath } from 'node:url';
import {
  ByteWriter,
  CameraEpochs,
  HEADER_BYTES,
  LIVE_HEADER_BYTES,
  formatPaddingPolicy,
  parsePaddingPolicy,
  NONCE_BYTES,
  RANDOM_NONCE_BYTES,
  SIGNATURE_CONTEXT,
  chunkNonce,
  encodeEvent,
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
  type PublicIdentity,
  type RandomSource,
} from '../../src/protocol/index.js';
import { seededRandom } from '../helpers/fixtures.js';
import { buildPairingVectors } from './pairing.js';
import { PNG } from 'pngjs';

export const SEED = 'sealcam-vectors-v1';
const T0 = Date.UTC(2026, 10, 29, 12, 0, 0);
const hex = toHex;
const text = (s: string) => new TextEncoder().encode(s);

type Step = { type: 'announcement' | 'segment' | 'live' | 'seal' | 'transport' | 'roster'; hex: string };

interface InvalidCase {
  name: string;
  /** Absent: the case runs as `viewer`; "stranger": as the second viewer. */
  viewer?: 'stranger';
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
  const craft = (o: { key?: Uint8Array; flipTag?: boolean; innerSeq?: number; innerLast?: boolean; padTo?: number; patchInner?: (inner: Uint8Array) => void }) => {
    const seq = 0;
    const nonce = new ByteWriter(NONCE_BYTES).raw(random(RANDOM_NONCE_BYTES)).u64(seq).u32(0).done();
    const inner = encodeInner({ kind: 'media', last: o.innerLast ?? true, cameraId: camera.id, epoch: 1, seq: o.innerSeq ?? seq, captureTime: T0, chunkIndex: 0 }, text('crafted'), o.padTo);
    o.patchInner?.(inner);
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
    { name: 'unknown kind 4', steps: [ann, seg(flip(init, 5, 0x05))], error: 'E_UNKNOWN_KIND' },
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
  // Everything below draws its randomness after the cases above, so their bytes do not change.
  const more = moreVectors({ random, camera, owner, stranger, otherCamera, epochs, rosterBytes, announcement, init, media1, media1Live, foreign, pieces, flip, seg, ann, craft });
  invalid.push(...more.invalid);
  const padded = paddingVectors({ random, camera, owner, epochs, craft, seg, ann });
  invalid.push(...padded.invalid);
  const event = eventVectors({ random, camera, epochs, seg, ann });
  invalid.push(...event.invalid);
  const sessions = sessionVectors({ random, camera, owner, stranger, epochs, announcement, twoRecipients: more.twoRecipients, epochs2: more.epochs2 });

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
      'A step {type:"roster"} is a roster update checked as the camera does (PROTOCOL.md §4.4) against the viewer\'s signing key, holding version 1 at first.',
      'An invalid case with viewer:"stranger" runs as the stranger. recipients: an announcement wrapped for the viewer and the stranger; each opens it',
      '(fresh, alone) to epochKey and then opens segment.',
      'padded (§6.5): a segment sealed under the padding policy in its name (its seq is 20); a fresh viewer opens the announcement and segment',
      'to chunks (the payloads, padding removed); ctLengths are the chunk ciphertext sizes the relay sees; a second fresh viewer accepts live, then seal.',
      'event (§16): a kind-3 envelope (seq 50) whose payload is an SCEV record; a fresh viewer opens the announcement and the envelope and decodes the record to expect.',
      'sessions (§7.5): each case runs one live session (fresh, or restored from snapshot) with options; every step is a keys or live message (or a tick)',
      'at the clock now, and must produce exactly the events listed (see PROTOCOL.md §12); stats are the counters at the end.',
    ].join(' '),
    camera: { id: hex(camera.id), signPublicKey: hex(camera.signPublicKey), boxPublicKey: hex(camera.boxPublicKey) },
    viewer: { id: hex(owner.id), signPublicKey: hex(owner.signPublicKey), boxPublicKey: hex(owner.boxPublicKey), boxSecretKey: hex(owner.box.secretKey), identitySecret: hex(owner.exportSecret()) },
    stranger: { id: hex(stranger.id), signPublicKey: hex(stranger.signPublicKey), boxPublicKey: hex(stranger.boxPublicKey), boxSecretKey: hex(stranger.box.secretKey), identitySecret: hex(stranger.exportSecret()) },
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
    recipients: more.recipients,
    padded: padded.padded,
    event: event.event,
    sessions,
    invalid,
  };
}

const EPOCH_CONTEXT = text('sealcam/epoch/v1\0');
const ROSTER_CONTEXT = text('sealcam/roster/v1\0');
/** A low-order X25519 point (Wycheproof tcId 63, also in x25519-wycheproof-low-order.json). */
const LOW_ORDER_POINT = fromHex('e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800');
const ABOVE_U53 = 2n ** 53n;

/** A copy of `b` with the u64 at `at` set to `v` (writers refuse values above 2^53 - 1). */
function withU64(b: Uint8Array, at: number, v: bigint): Uint8Array {
  const c = b.slice();
  new DataView(c.buffer).setBigUint64(at, v);
  return c;
}

interface Material {
  random: RandomSource;
  camera: Identity;
  owner: Identity;
  stranger: Identity;
  otherCamera: Identity;
  /** the camera's epoch 1 (never rotated again). */
  epochs: CameraEpochs;
  rosterBytes: Uint8Array;
  announcement: Uint8Array;
  init: Uint8Array;
  media1: Uint8Array;
  media1Live: Uint8Array[];
  foreign: Uint8Array;
  pieces: Uint8Array[];
  flip: (b: Uint8Array, at: number, mask?: number) => Uint8Array;
  seg: (b: Uint8Array) => Step;
  ann: Step;
  craft: (o: { patchInner?: (inner: Uint8Array) => void }) => Uint8Array;
}

/**
 * Issue 11's vectors: rosters (every §4.3/§4.4 error), announcements with two recipients,
 * E_STALE_EPOCH, E_FORWARD_JUMP, E_EPOCH_ROLLBACK, a low-order ephemeral key, seals that do not
 * match their live chunks, a seal confirmed twice, a republished envelope, and the u64 limit.
 */
function moreVectors(m: Material): { invalid: InvalidCase[]; recipients: object; twoRecipients: Uint8Array; epochs2: CameraEpochs } {
  const { random, camera, owner, stranger, otherCamera, epochs, rosterBytes, announcement, init, media1, media1Live, foreign, pieces, flip, seg, ann } = m;
  const step = (type: Step['type']) => (b: Uint8Array): Step => ({ type, hex: hex(b) });
  const [roster, announce, live, transport] = [step('roster'), step('announcement'), step('live'), step('transport')];
  const seal = (envelope: Uint8Array): Step => ({ type: 'seal', hex: hex(envelope.subarray(0, SEAL_BYTES)) });
  const allLive = media1Live.map(live);
  const rosterFor = (rosterVersion: number, viewers: PublicIdentity[], cameraId = camera.id) =>
    openRoster(signRoster(owner, { cameraId, rosterVersion, issuedAt: T0, viewers }), owner.signPublicKey);

  /** A roster with any fields, signed by `signer` (the owner by default) whatever it says. */
  const anyRoster = (o: { entries: PublicIdentity[]; rosterVersion?: number; cameraId?: Uint8Array; signer?: Identity }) => {
    const w = new ByteWriter(36 + 64 * o.entries.length).raw(text('SCR1')).u8(1).u8(0).u16(o.entries.length).raw(o.cameraId ?? camera.id).u32(o.rosterVersion ?? 2).u64(T0);
    for (const e of o.entries) w.raw(e.signPublicKey).raw(e.boxPublicKey);
    const body = w.done();
    return concatBytes(body, (o.signer ?? owner).signer.sign(concatBytes(ROSTER_CONTEXT, body)));
  };
  /** An announcement signed by the camera, wrapping `plaintext` (52 bytes) or random bytes per entry. */
  const anyAnnouncement = (o: { epoch: number; ephemeralPublic?: Uint8Array; entries: { viewerId: Uint8Array; boxPublicKey: Uint8Array; plaintext?: Uint8Array }[] }) => {
    const ephemeral = nacl.box.keyPair.fromSecretKey(random(32));
    const w = new ByteWriter(72 + 108 * o.entries.length).raw(text('SCK1')).u8(1).u8(0).u16(o.entries.length).raw(camera.id).u32(o.epoch).u32(2).u64(T0).raw(o.ephemeralPublic ?? ephemeral.publicKey);
    for (const e of o.entries) {
      const nonce = random(24);
      w.raw(e.viewerId).raw(nonce).raw(e.plaintext ? nacl.box(e.plaintext, nonce, e.boxPublicKey, ephemeral.secretKey) : random(68));
    }
    const body = w.done();
    return concatBytes(body, camera.signer.sign(concatBytes(EPOCH_CONTEXT, body)));
  };
  const wrapped = (epoch: number, key: Uint8Array) => new ByteWriter(52).raw(camera.id).u32(epoch).raw(key).done();
  const lowOrderViewer = { signPublicKey: stranger.signPublicKey, boxPublicKey: LOW_ORDER_POINT } as PublicIdentity;

  // Epoch 2 for two recipients (the owner, then the stranger), and a segment (seq 4) sealed under it.
  const epochs2 = new CameraEpochs(camera, random, 1);
  const twoRecipients = epochs2.rotate(rosterFor(2, [owner.public, stranger.public]), T0 + 1000);
  const epoch2Key = hex(epochs2.epoch.key);
  const epoch2Payload = text('epoch 2, wrapped for two viewers');
  const epoch2Segment = new SegmentSealer(camera, epochs2, random, 4).seal({ kind: 'media', captureTime: T0 + 8000, durationMs: 2000, payload: epoch2Payload });
  const rollback = new SegmentSealer(camera, epochs, random, 5).seal({ kind: 'media', captureTime: T0 + 10_000, durationMs: 2000, payload: text('seq 5 under epoch 1') });

  // Epoch 1 again with another key (a camera that lost its epoch counter), and epoch 10.
  const epoch1Again = new CameraEpochs(camera, random, 0).rotate(rosterFor(1, [owner.public]), T0);
  const epoch10 = new CameraEpochs(camera, random, 9).rotate(rosterFor(3, [owner.public]), T0);
  const foreignAnnouncement = new CameraEpochs(otherCamera, random, 0).rotate(rosterFor(1, [owner.public], otherCamera.id), T0);

  // seq 10 001 after seq 0 (maxForwardJump 10 000), as a segment and as a live chunk.
  const jumpWriter = new SegmentSealer(camera, epochs, random, 10_001).begin({ kind: 'media', captureTime: T0 + 40 });
  const jumpLive = jumpWriter.addChunk(text('too far ahead'), { last: true });
  const jump = jumpWriter.finish({ durationMs: 2000 });

  // Seq 1 sealed again: the same three payloads under a new nonce, and as two chunks.
  const reseal = (parts: string[]) => {
    const w = new SegmentSealer(camera, epochs, random, 1).begin({ kind: 'media', captureTime: T0 + 40 });
    parts.forEach((p, i) => w.addChunk(text(p), { last: i === parts.length - 1 }));
    return w.finish({ durationMs: 2000 });
  };
  const resealed = reseal(['moof+mdat part 0', 'moof+mdat part 1', 'moof+mdat part 2 (last)']);
  const resealedTwo = reseal(['moof+mdat part 0', 'moof+mdat part 1 and 2 (last)']);

  const maxSeq = new SegmentSealer(camera, epochs, random, Number.MAX_SAFE_INTEGER).seal({ kind: 'media', captureTime: T0, durationMs: 2000, payload: text('seq 2^53 - 1') });
  const innerAboveU53 = m.craft({ patchInner: (inner) => new DataView(inner.buffer).setBigUint64(36, ABOVE_U53) });

  const lowOrderEphemeral = anyAnnouncement({ epoch: 3, ephemeralPublic: LOW_ORDER_POINT, entries: [{ viewerId: owner.id, boxPublicKey: owner.boxPublicKey }] });
  const firstEntryBad = anyAnnouncement({ epoch: 3, entries: [{ viewerId: owner.id, boxPublicKey: owner.boxPublicKey }, { viewerId: owner.id, boxPublicKey: owner.boxPublicKey, plaintext: wrapped(3, random(32)) }] });
  const boundElsewhere = anyAnnouncement({ epoch: 3, entries: [{ viewerId: stranger.id, boxPublicKey: stranger.boxPublicKey, plaintext: wrapped(3, random(32)) }, { viewerId: owner.id, boxPublicKey: owner.boxPublicKey, plaintext: wrapped(4, random(32)) }] });

  const count = (n: number) => {
    const c = rosterBytes.slice();
    new DataView(c.buffer).setUint16(6, n);
    return c;
  };
  const invalid: InvalidCase[] = [
    // §4.3 and §4.4, each step's error, as the camera checks an update while holding rosterVersion 1.
    { name: 'roster: shorter than 4 bytes (the magic read runs past the end)', steps: [roster(rosterBytes.subarray(0, 3))], error: 'E_MALFORMED' },
    { name: 'roster: bad magic', steps: [roster(flip(rosterBytes, 0, 0xff))], error: 'E_BAD_MAGIC' },
    { name: 'roster: version 2', steps: [roster(flip(rosterBytes, 4, 0x03))], error: 'E_UNSUPPORTED_VERSION' },
    { name: 'roster: unknown flag bit 0', steps: [roster(flip(rosterBytes, 5))], error: 'E_UNKNOWN_FLAGS' },
    { name: 'roster: count 0', steps: [roster(count(0))], error: 'E_MALFORMED' },
    { name: 'roster: count 65', steps: [roster(count(65))], error: 'E_MALFORMED' },
    { name: 'roster: rosterVersion 0, signed by the owner', steps: [roster(anyRoster({ entries: [owner.public], rosterVersion: 0 }))], error: 'E_MALFORMED' },
    { name: 'roster: issuedAt 2^53 (above the u64 limit)', steps: [roster(withU64(rosterBytes, 28, ABOVE_U53))], error: 'E_MALFORMED' },
    { name: 'roster: one trailing byte', steps: [roster(concatBytes(rosterBytes, new Uint8Array(1)))], error: 'E_MALFORMED' },
    { name: 'roster: last byte missing', steps: [roster(rosterBytes.subarray(0, rosterBytes.length - 1))], error: 'E_MALFORMED' },
    { name: 'roster: signed by the stranger, not the pinned owner', steps: [roster(anyRoster({ entries: [owner.public], signer: stranger }))], error: 'E_ROSTER_SIGNATURE' },
    { name: 'roster: signed by the owner, but entry 0 is the stranger', steps: [roster(anyRoster({ entries: [stranger.public, owner.public] }))], error: 'E_MALFORMED' },
    { name: 'roster: signed by the owner, entry 1 has a low-order box key', steps: [roster(anyRoster({ entries: [owner.public, lowOrderViewer] }))], error: 'E_LOW_ORDER_POINT' },
    { name: 'roster: signed by the owner, the stranger listed twice', steps: [roster(anyRoster({ entries: [owner.public, stranger.public, stranger.public] }))], error: 'E_MALFORMED' },
    { name: 'roster: signed by the owner for another camera', steps: [roster(anyRoster({ entries: [owner.public], cameraId: otherCamera.id }))], error: 'E_FOREIGN_CAMERA' },
    { name: 'roster: the held roster (version 1) delivered again', steps: [roster(rosterBytes)], error: 'E_STALE_ROSTER' },
    { name: 'roster: version 3 accepted, then version 2 replayed', steps: [roster(anyRoster({ entries: [owner.public, stranger.public], rosterVersion: 3 })), roster(anyRoster({ entries: [owner.public, stranger.public], rosterVersion: 2 }))], error: 'E_STALE_ROSTER' },
    // §5.3 and §5.4.
    { name: 'announcement: createdAt 2^53 (above the u64 limit)', steps: [announce(withU64(announcement, 32, ABOVE_U53))], error: 'E_MALFORMED' },
    { name: 'announcement: epoch 0', steps: [announce(flip(announcement, 27))], error: 'E_MALFORMED' },
    { name: 'announcement: from a camera the viewer never paired', steps: [announce(foreignAnnouncement)], error: 'E_FOREIGN_CAMERA' },
    { name: 'announcement: low-order ephemeralPublic, signed by the camera', steps: [announce(lowOrderEphemeral)], error: 'E_LOW_ORDER_POINT' },
    { name: 'announcement: the viewer listed twice, its first entry does not open (the first match is used)', steps: [announce(firstEntryBad)], error: 'E_DECRYPT' },
    { name: 'announcement: two recipients, the viewer\u2019s key is bound to epoch 4 inside an epoch 3 announcement', steps: [announce(boundElsewhere)], error: 'E_INNER_HEADER' },
    { name: 'stranger: the one-recipient announcement wraps nothing for it', viewer: 'stranger', steps: [ann], error: 'E_NOT_ON_ROSTER' },
    { name: 'stranger: epoch 1 was never wrapped for it', viewer: 'stranger', steps: [announce(twoRecipients), seg(init)], error: 'E_UNKNOWN_EPOCH' },
    { name: 'the same announcement twice is accepted (nothing changes); the init segment then opens once', steps: [ann, ann, seg(init), seg(init)], error: 'E_REPLAY' },
    { name: 'stale epoch: epoch 1 announced again with a different key', steps: [ann, announce(epoch1Again)], error: 'E_STALE_EPOCH' },
    { name: 'stale epoch: epoch 2 after epoch 10 (the keyring keeps 8)', steps: [announce(epoch10), announce(twoRecipients)], error: 'E_STALE_EPOCH' },
    // §8.2 through §6.3 and §7.3.
    { name: 'forward jump: seq 10 001 after seq 0', steps: [ann, seg(init), seg(jump)], error: 'E_FORWARD_JUMP' },
    { name: 'forward jump: live chunk of seq 10 001 after seq 0', steps: [ann, seg(init), live(jumpLive)], error: 'E_FORWARD_JUMP' },
    { name: 'epoch rollback: seq 5 under epoch 1 after seq 4 under epoch 2', steps: [ann, announce(twoRecipients), seg(epoch2Segment), seg(rollback)], error: 'E_EPOCH_ROLLBACK' },
    // §1.1 u64 limit.
    { name: 'u64 limit: seq 2^53 - 1 opens, the same envelope with seq 2^53 does not', steps: [ann, seg(maxSeq), seg(withU64(maxSeq, 28, ABOVE_U53))], error: 'E_MALFORMED' },
    { name: 'u64 limit: captureTime 2^53', steps: [ann, seg(withU64(init, 36, ABOVE_U53))], error: 'E_MALFORMED' },
    { name: 'u64 limit: live chunk with seq 2^53', steps: [ann, live(withU64(media1Live[0]!, 28, ABOVE_U53))], error: 'E_MALFORMED' },
    { name: 'u64 limit: signed by the camera, inner captureTime 2^53', steps: [ann, seg(innerAboveU53)], error: 'E_INNER_HEADER' },
    // §7.4: seals that do not match, and a seal confirmed twice.
    { name: 'seal confirmed twice: the pending segment is gone after the first', steps: [ann, ...allLive, seal(media1), seal(media1)], error: 'E_LIVE_INCOMPLETE' },
    { name: 'seal of seq 1 sealed again (same payloads, another nonce)', steps: [ann, ...allLive, seal(resealed)], error: 'E_BAD_SIGNATURE' },
    { name: 'seal with a changed captureTime byte', steps: [ann, ...allLive, seal(flip(media1, 43))], error: 'E_BAD_SIGNATURE' },
    { name: 'seal with a changed durationMs byte (not compared, so the signature fails)', steps: [ann, ...allLive, seal(flip(media1, 47))], error: 'E_BAD_SIGNATURE' },
    { name: 'seal of seq 1 sealed as two chunks', steps: [ann, ...allLive, seal(resealedTwo)], error: 'E_LIVE_INCOMPLETE' },
    { name: 'seal of 145 bytes', steps: [ann, ...allLive, { type: 'seal', hex: hex(media1.subarray(0, SEAL_BYTES + 1)) }], error: 'E_MALFORMED' },
    { name: 'seal from a camera the viewer never paired', steps: [ann, ...allLive, seal(foreign)], error: 'E_FOREIGN_CAMERA' },
    // §10.4 and §11.1: the camera publishes an envelope again after a reconnect.
    { name: 'republished envelope: every piece twice, the second copy reassembles and is a replay', steps: [ann, ...pieces.map(transport), ...pieces.map(transport)], error: 'E_REPLAY' },
    { name: 'a repeated identical piece is ignored; the envelope then opens once', steps: [ann, transport(pieces[0]!), transport(pieces[0]!), ...pieces.slice(1).map(transport), seg(media1)], error: 'E_REPLAY' },
    { name: 'a repeated piece index with different data', steps: [transport(pieces[0]!), transport(flip(pieces[0]!, 60))], error: 'E_CHUNK_MISMATCH' },
  ];
  const recipients = {
    name: 'an epoch 2 announcement wrapped for two viewers (viewer, then stranger), and a segment sealed under it',
    announcement: hex(twoRecipients),
    epoch: 2,
    epochKey: epoch2Key,
    segment: hex(epoch2Segment),
    expect: { seq: 4, epoch: 2, chunks: [hex(epoch2Payload)] },
  };
  return { invalid, recipients, twoRecipients, epochs2 };
}

/**
 * §6.5 padding: a segment sealed under a small policy (chunk buckets 256 and 1024 bytes, bodies a
 * multiple of 4096), its live chunks and seal, and camera-signed chunks whose padding is wrong.
 */
function paddingVectors(m: Pick<Material, 'random' | 'camera' | 'epochs' | 'seg' | 'ann'> & { owner: Identity; craft: (o: { padTo?: number; patchInner?: (inner: Uint8Array) => void }) => Uint8Array }) {
  const { random, camera, epochs, craft, seg, ann } = m;
  const policy = parsePaddingPolicy('chunks=256,1K;segment=4K')!;
  const w = new SegmentSealer(camera, epochs, random, 20, { padding: policy }).begin({ kind: 'media', captureTime: T0 + 40 });
  const payloads = [text('a small P-frame'), random(300), new Uint8Array(0)];
  const live = payloads.map((p, i) => w.addChunk(p, { last: i === payloads.length - 1 }));
  const envelope = w.finish({ durationMs: 2000 });
  const ctLengths = live.map((l) => l.length - LIVE_HEADER_BYTES);
  // craft() pads 'crafted' (7 bytes) to a 128-byte ct: plaintext 112 = inner 48 + 7 + zero 53 + u32(53).
  const invalid: InvalidCase[] = [
    { name: 'padding: signed by the camera, a padding byte is not zero', steps: [ann, seg(craft({ padTo: 128, patchInner: (inner) => void (inner[100] = 1) }))], error: 'E_INNER_HEADER' },
    { name: 'padding: signed by the camera, padLength runs into the inner header', steps: [ann, seg(craft({ padTo: 128, patchInner: (inner) => new DataView(inner.buffer).setUint32(108, 61) }))], error: 'E_INNER_HEADER' },
    { name: 'padding: signed by the camera, PADDED flag on a 7-byte payload with no trailer', steps: [ann, seg(craft({ patchInner: (inner) => void (inner[5] = 0x03) }))], error: 'E_INNER_HEADER' },
    { name: 'padding: signed by the camera, unknown inner flag 0x04', steps: [ann, seg(craft({ patchInner: (inner) => void (inner[5] = 0x05) }))], error: 'E_INNER_HEADER' },
  ];
  return {
    padded: {
      name: `a three-chunk segment sealed with --pad ${formatPaddingPolicy(policy)}`,
      policy: formatPaddingPolicy(policy),
      envelope: hex(envelope),
      live: live.map(hex),
      seal: hex(envelope.subarray(0, SEAL_BYTES)),
      ctLengths,
      bodyLength: envelope.length - SEAL_BYTES,
      expect: { seq: 20, epoch: 1, chunks: payloads.map(hex) },
    },
    invalid,
  };
}

/**
 * §16 motion events: a kind-3 envelope carrying an SCEV record with a 2x2 PNG thumbnail, and
 * camera-signed kind-3 envelopes whose record is not one.
 */
function eventVectors(m: { random: RandomSource; camera: Identity; epochs: CameraEpochs; seg: (b: Uint8Array) => Step; ann: Step }) {
  const { random, camera, epochs, seg, ann } = m;
  // A 2x2 RGB PNG: red, green, blue, white.
  const png = new PNG({ width: 2, height: 2, colorType: 2, inputColorType: 2, inputHasAlpha: false });
  png.data = Buffer.from([255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255]);
  const thumbnail = new Uint8Array(PNG.sync.write(png, { colorType: 2, inputColorType: 2, inputHasAlpha: false }));
  const record = { startTime: T0 + 10_000, endTime: T0 + 14_000, peakPermille: 62, firstSeq: 44, lastSeq: 46, thumbnail: { type: 'png' as const, bytes: thumbnail } };
  const envelope = new SegmentSealer(camera, epochs, random, 50).seal({ kind: 'event', captureTime: record.startTime, durationMs: 4000, payload: encodeEvent(record) });
  const bad = (payload: Uint8Array, seq: number) => new SegmentSealer(camera, epochs, random, seq).seal({ kind: 'event', captureTime: T0, durationMs: 0, payload });
  const good = encodeEvent(record);
  const ending = good.slice();
  new DataView(ending.buffer).setBigUint64(16, BigInt(T0)); // endTime before startTime
  const invalid: InvalidCase[] = [
    { name: 'event: signed by the camera, but the record ends before it starts (its envelope opens; decoding the record fails)', steps: [ann, seg(bad(ending, 51))], error: 'E_MALFORMED' },
    { name: 'event: signed by the camera, record with a bad magic', steps: [ann, seg(bad(concatBytes(text('XCEV'), good.subarray(4)), 52))], error: 'E_BAD_MAGIC' },
  ];
  return {
    event: { name: 'a motion event: 10 s to 14 s after T0, 62 per mille at its peak, segments 44..46, a 2x2 PNG', envelope: hex(envelope), expect: { seq: 50, epoch: 1, kind: 'event', startTime: record.startTime, endTime: record.endTime, peakPermille: 62, firstSeq: 44, lastSeq: 46, thumbnailType: 'png', thumbnail: hex(thumbnail) } },
    invalid,
  };
}

interface SessionStep {
  channel: 'keys' | 'live' | 'tick';
  hex?: string;
  now: number;
  events: string[];
}

/**
 * §7.5 live sessions: late join, freshness both ways, held messages released and expired, a
 * replay into a restored session, and the owner's roster check (E_ROSTER_LAGGING), as event
 * transcripts. Each event is a short string: "announcement <epoch>", "init <seq>",
 * "chunk <seq>/<index>", "confirmed <seq>", "rejected <what> <code>", "alarm <code>".
 */
function sessionVectors(m: { random: RandomSource; camera: Identity; owner: Identity; stranger: Identity; epochs: CameraEpochs; announcement: Uint8Array; twoRecipients: Uint8Array; epochs2: CameraEpochs }) {
  const { random, camera, owner, stranger, epochs, announcement } = m;
  const sealer = new SegmentSealer(camera, epochs, random, 40);
  const t = T0 + 1_000_000;
  const init = sealer.seal({ kind: 'init', captureTime: t, durationMs: 0, payload: text('ftyp+moov of the live run') });
  const segment = (captureTime: number, parts: number) => {
    const w = sealer.begin({ kind: 'media', captureTime });
    const chunks = Array.from({ length: parts }, (_, i) => w.addChunk(text(`frame ${w.seq}.${i}`), { last: i === parts - 1 }));
    return { seq: w.seq, chunks, seal: w.finish({ durationMs: 2000 }).subarray(0, SEAL_BYTES) };
  };
  const a = segment(t, 3); // seq 41
  const b = segment(t + 2000, 3); // seq 42
  const e2 = new SegmentSealer(camera, m.epochs2, random, 60).begin({ kind: 'media', captureTime: t + 4000 });
  const e2Chunk = e2.addChunk(text('first frame under epoch 2'), { last: true });
  const e2Seal = e2.finish({ durationMs: 2000 }).subarray(0, SEAL_BYTES);
  const L = (bytes: Uint8Array, now: number, events: string[]): SessionStep => ({ channel: 'live', hex: hex(bytes), now, events });
  const K = (bytes: Uint8Array, now: number, events: string[]): SessionStep => ({ channel: 'keys', hex: hex(bytes), now, events });
  const ann1 = K(announcement, t, ['announcement 1']);
  const playA = [L(init, t, ['init 40']), ...a.chunks.map((c, i) => L(c, t + 100 * i, [`chunk 41/${i}`])), L(a.seal, t + 300, ['confirmed 41'])];
  const snapshotAfterA = { v: 1, highestSeq: 41, highestEpoch: 1, window: '3', finalSeen: false };
  const stats = (o: { accepted: number; confirmed: number; skipped?: number; released?: number; rejected?: Record<string, number> }) => ({
    chunksAccepted: o.accepted,
    chunksConfirmed: o.confirmed,
    skippedBeforeJoin: o.skipped ?? 0,
    heldReleased: o.released ?? 0,
    rejected: o.rejected ?? {},
  });
  return [
    {
      name: 'late join: chunks 1 and 2 of seq 41 and its seal are skipped; the repeated init is ignored; seq 42 plays and confirms',
      options: {},
      steps: [ann1, L(init, t, ['init 40']), L(a.chunks[1]!, t + 100, []), L(a.chunks[2]!, t + 200, []), L(a.seal, t + 300, []), L(init, t + 2000, []), ...b.chunks.map((c, i) => L(c, t + 2000 + 100 * i, [`chunk 42/${i}`])), L(b.seal, t + 2300, ['confirmed 42'])],
      stats: stats({ accepted: 3, confirmed: 3, skipped: 2 }),
    },
    {
      name: 'freshness: a chunk 8 001 ms after its segment began is E_STALE_LIVE; 8 000 ms is still live',
      options: {},
      steps: [ann1, L(init, t, ['init 40']), L(a.chunks[0]!, t + 8001, ['rejected chunk E_STALE_LIVE']), L(a.chunks[0]!, t + 8000, ['chunk 41/0'])],
      stats: stats({ accepted: 1, confirmed: 0, rejected: { E_STALE_LIVE: 1 } }),
    },
    {
      name: 'freshness: a chunk whose segment begins 5 001 ms in the future is E_STALE_LIVE; with maxSkewMs 6 000 it is accepted',
      options: {},
      steps: [ann1, L(a.chunks[0]!, t - 5001, ['rejected chunk E_STALE_LIVE'])],
      stats: stats({ accepted: 0, confirmed: 0, rejected: { E_STALE_LIVE: 1 } }),
    },
    {
      name: 'freshness bound from options: maxSkewMs 6 000 accepts a capture time 5 001 ms ahead',
      options: { maxSkewMs: 6000 },
      steps: [ann1, L(a.chunks[0]!, t - 5001, ['chunk 41/0'])],
      stats: stats({ accepted: 1, confirmed: 0 }),
    },
    {
      name: 'keys first: a chunk and seal of epoch 2 wait for its announcement and are then processed in arrival order',
      options: {},
      steps: [ann1, L(e2Chunk, t + 4000, []), L(e2Seal, t + 4100, []), K(m.twoRecipients, t + 4200, ['announcement 2', 'chunk 60/0', 'confirmed 60'])],
      stats: stats({ accepted: 1, confirmed: 1, released: 2 }),
    },
    {
      name: 'keys first: a held chunk whose announcement never comes is E_UNKNOWN_EPOCH after holdMs (3 000 ms)',
      options: {},
      steps: [ann1, L(e2Chunk, t + 4000, []), { channel: 'tick', now: t + 7000, events: [] }, { channel: 'tick', now: t + 7001, events: ['rejected chunk E_UNKNOWN_EPOCH'] }],
      stats: stats({ accepted: 0, confirmed: 0, rejected: { E_UNKNOWN_EPOCH: 1 } }),
    },
    {
      name: 'replay into a restarted session: restored from the snapshot after seq 41, the init only configures the decoder and the same chunks and seal are refused',
      options: { snapshot: snapshotAfterA },
      steps: [ann1, L(init, t + 500, ['init 40']), L(a.chunks[0]!, t + 500, ['rejected chunk E_REPLAY']), L(a.chunks[1]!, t + 600, ['rejected chunk E_REPLAY']), L(a.seal, t + 700, ['rejected seal E_REPLAY'])],
      stats: stats({ accepted: 0, confirmed: 0, rejected: { E_REPLAY: 3 } }),
    },
    {
      name: 'the same session without a snapshot plays them (the control for the case above)',
      options: {},
      steps: [ann1, ...playA],
      stats: stats({ accepted: 3, confirmed: 3 }),
      snapshot: snapshotAfterA,
    },
    {
      name: 'owner roster check: the owner signed version 2, the camera announces epoch 1 for version 1',
      options: { expectedRoster: { rosterVersion: 2, viewerIds: [hex(owner.id)] } },
      steps: [K(announcement, t, ['announcement 1', 'alarm E_ROSTER_LAGGING'])],
      stats: stats({ accepted: 0, confirmed: 0 }),
    },
    {
      name: 'owner roster check: version 2 as signed, but wrapped for the owner and the stranger while the owner signed the owner alone',
      options: { expectedRoster: { rosterVersion: 2, viewerIds: [hex(owner.id)] } },
      steps: [K(m.twoRecipients, t, ['announcement 2', 'alarm E_ROSTER_LAGGING'])],
      stats: stats({ accepted: 0, confirmed: 0 }),
    },
    {
      name: 'owner roster check: version 2 for exactly the owner and the stranger raises no alarm',
      options: { expectedRoster: { rosterVersion: 2, viewerIds: [hex(stranger.id), hex(owner.id)] } },
      steps: [K(m.twoRecipients, t, ['announcement 2'])],
      stats: stats({ accepted: 0, confirmed: 0 }),
    },
  ];
}

const outputs = [
  { file: fileURLToPath(new URL('./segments.json', import.meta.url)), build: buildVectors },
  { file: fileURLToPath(new URL('./pairing.json', import.meta.url)), build: buildPairingVectors },
];
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  for (const { file, build } of outputs) {
    const json = `${JSON.stringify(build(), null, 2)}\n`;
    if (process.argv.includes('--check')) {
      if (readFileSync(file, 'utf8') !== json) {
        console.error(`${file} is out of date: run npm run vectors`);
        process.exit(1);
      }
      console.log(`${file} is up to date`);
    } else {
      writeFileSync(file, json);
      console.log(`wrote ${file}`);
    }
  }
}
