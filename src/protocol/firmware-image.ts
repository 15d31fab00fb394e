/**
 * Firmware images and update announcements (PROTOCOL.md §13, §14). Both are signed with the
 * firmware key: an Ed25519 key of its own, separate from every camera, owner and viewer key. The
 * device pins its public key. All integers are big-endian.
 *
 * Firmware image ("SCFW", PROTOCOL.md §13): a signed manifest on the outside, the zstd-compressed
 * payload after it.
 *
 *   off     size  field
 *   0       4     magic          "SCFW" (0x53 0x43 0x46 0x57)
 *   4       1     version        1 (others: E_FIRMWARE_FORMAT)
 *   5       1     flags          0 (any bit set: E_FIRMWARE_FORMAT)
 *   6       2     reserved       0
 *   8       4     manifestLength M, 2..MAX_MANIFEST_BYTES
 *   12      4     payloadLength  P, 1..MAX_PAYLOAD_BYTES; 16 + M + 64 + P must equal the file size
 *   16      M     manifest       UTF-8 JSON, the FirmwareManifest below
 *   16+M    64    signature      Ed25519 by the firmware key over
 *                                "sealcam/firmware-image/v1\0" || bytes[0 .. 16+M]
 *                                64 zero bytes: an unsigned image (E_FIRMWARE_UNSIGNED)
 *   80+M    P     payload        one zstd frame (RFC 8878); decompressed it is the manifest's files
 *                                concatenated in manifest order, nothing between them
 *
 * The signature covers the header and the manifest; the manifest commits to the payload by its
 * SHA-256 and to every file by its own SHA-256. Check order (verifyFirmwareImage): header
 * (E_FIRMWARE_FORMAT) → signature (E_FIRMWARE_UNSIGNED, E_FIRMWARE_SIGNATURE) → manifest fields
 * (E_FIRMWARE_FORMAT) → board (E_FIRMWARE_BOARD) → security version (E_FIRMWARE_DOWNGRADE) →
 * payload SHA-256 (E_FIRMWARE_HASH). After decompression, which is the app's job (zstd is a native
 * addon), splitPayloadFiles checks the decompressed size and every file's SHA-256 (E_FIRMWARE_HASH).
 * So a flipped byte gives E_FIRMWARE_FORMAT in the header, E_FIRMWARE_SIGNATURE in the manifest or
 * the signature, and E_FIRMWARE_HASH in the payload.
 *
 * Update announcement ("SCUA", PROTOCOL.md §14), published retained over MQTT:
 *
 *   off     size  field
 *   0       4     magic          "SCUA" (0x53 0x43 0x55 0x41)
 *   4       1     version        1
 *   5       1     flags          0
 *   6       2     reserved       0
 *   8       4     bodyLength     B, 2..MAX_ANNOUNCEMENT_BODY_BYTES; 12 + B + 64 = message size
 *   12      B     body           UTF-8 JSON, the UpdateAnnouncement below
 *   12+B    64    signature      Ed25519 by the firmware key over
 *                                "sealcam/update-announcement/v1\0" || bytes[0 .. 12+B]
 *
 * The two signature contexts differ, so an image signature can never pass as an announcement's.
 */
import { createHash } from 'node:crypto';
import { ByteReader, ByteWriter, asciiBytes, concatBytes, equalBytes, fromHex, isAllZero, toHex } from './bytes.js';
import { SealcamError, ensure } from './errors.js';
import { SigningKey, verifySignature } from './primitives.js';

export const FIRMWARE_MAGIC = asciiBytes('SCFW');
export const FIRMWARE_VERSION = 1;
export const FIRMWARE_HEADER_BYTES = 16;
export const ANNOUNCEMENT_MAGIC = asciiBytes('SCUA');
export const ANNOUNCEMENT_VERSION = 1;
export const ANNOUNCEMENT_HEADER_BYTES = 12;
const SIGNATURE_LENGTH = 64;
const ED25519_PUBLIC_LENGTH = 32;
export const MAX_MANIFEST_BYTES = 1 << 20;
export const MAX_PAYLOAD_BYTES = 0xffff_ffff;
export const MAX_ANNOUNCEMENT_BODY_BYTES = 16 << 10;
/** Files in one image; an image holds a handful. */
export const MAX_FIRMWARE_FILES = 256;
/** The decompressed payload may be at most this large (the zstd "bomb" bound). */
export const MAX_RAW_PAYLOAD_BYTES = 1 << 30;
export const MAX_SECURITY_VERSION = 0xffff_ffff;
export const MANIFEST_FORMAT = 'sealcam-firmware-1';

const IMAGE_CONTEXT = asciiBytes('sealcam/firmware-image/v1\0');
const ANNOUNCEMENT_CONTEXT = asciiBytes('sealcam/update-announcement/v1\0');

export type FirmwareArch = 'x64' | 'arm64';

export interface FirmwareFileEntry {
  /** Relative POSIX path inside the slot: [A-Za-z0-9._-] segments, no '.', '..' or empty segment. */
  readonly path: string;
  readonly size: number;
  /** SHA-256 of the file, lowercase hex. */
  readonly sha256: string;
  /** 0o644 or 0o755 */
  readonly mode: number;
}

export interface FirmwareManifest {
  readonly format: typeof MANIFEST_FORMAT;
  readonly board: string;
  readonly arch: FirmwareArch;
  /** Human version, e.g. "0.1.0" */
  readonly version: string;
  /** Monotonic anti-rollback counter: a device never installs a lower one. */
  readonly securityVersion: number;
  /** Build time as ISO 8601, informational only (passed in by the builder). */
  readonly builtAt: string;
  readonly payload: { readonly compression: 'zstd'; readonly rawSize: number; readonly sha256: string };
  readonly files: readonly FirmwareFileEntry[];
}

export interface FirmwareFile {
  readonly path: string;
  readonly mode: number;
  readonly data: Uint8Array;
}

export interface ParsedFirmwareImage {
  /** bytes[0 .. 16+M], what the signature covers after the context */
  readonly signed: Uint8Array;
  readonly manifestBytes: Uint8Array;
  readonly signature: Uint8Array;
  readonly payload: Uint8Array;
}

export interface FirmwareExpectations {
  /** Refuse an image for another board (E_FIRMWARE_BOARD). */
  readonly board?: string;
  /** Refuse a security version below this (E_FIRMWARE_DOWNGRADE). */
  readonly minSecurityVersion?: number;
}

export interface VerifiedFirmwareImage {
  readonly manifest: FirmwareManifest;
  /** The compressed payload, checked against manifest.payload.sha256. */
  readonly payload: Uint8Array;
}

export function sha256Hex(...parts: Uint8Array[]): string {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex');
}

/** Short id of a firmware public key for messages: SHA-256(key)[0..8] in hex. */
export function firmwareKeyId(publicKey: Uint8Array): string {
  return sha256Hex(publicKey).slice(0, 16);
}

// ---- payload: files concatenated in manifest order ---------------------------------------

/** The uncompressed payload and the manifest entries of `files`, in the order given. */
export function packPayloadFiles(files: readonly FirmwareFile[]): { raw: Uint8Array; entries: FirmwareFileEntry[] } {
  const entries = files.map((f) => ({ path: f.path, size: f.data.length, sha256: sha256Hex(f.data), mode: f.mode }));
  checkFileEntries(entries, 'files');
  return { raw: concatBytes(...files.map((f) => f.data)), entries };
}

/** Cut a decompressed payload into the manifest's files, checking the size and every SHA-256. */
export function splitPayloadFiles(manifest: FirmwareManifest, raw: Uint8Array): FirmwareFile[] {
  if (raw.length !== manifest.payload.rawSize) {
    throw new SealcamError('E_FIRMWARE_HASH', `firmware payload: decompressed to ${raw.length} bytes, the manifest says ${manifest.payload.rawSize}`);
  }
  const out: FirmwareFile[] = [];
  let off = 0;
  for (const entry of manifest.files) {
    const data = raw.subarray(off, off + entry.size);
    off += entry.size;
    const actual = sha256Hex(data);
    if (actual !== entry.sha256) throw new SealcamError('E_FIRMWARE_HASH', `firmware file ${entry.path}: SHA-256 ${actual}, the manifest says ${entry.sha256}`);
    out.push({ path: entry.path, mode: entry.mode, data });
  }
  return out;
}

// ---- image --------------------------------------------------------------------------------

export interface FirmwareImageFields {
  readonly board: string;
  readonly arch: FirmwareArch;
  readonly version: string;
  readonly securityVersion: number;
  readonly builtAt: string;
  readonly files: readonly FirmwareFileEntry[];
  readonly rawSize: number;
}

/** Sign and lay out an image. `payload` is the zstd frame of packPayloadFiles(...).raw. */
export function encodeFirmwareImage(fields: FirmwareImageFields, payload: Uint8Array, key: SigningKey): Uint8Array {
  const manifest: FirmwareManifest = {
    format: MANIFEST_FORMAT,
    board: fields.board,
    arch: fields.arch,
    version: fields.version,
    securityVersion: fields.securityVersion,
    builtAt: fields.builtAt,
    payload: { compression: 'zstd', rawSize: fields.rawSize, sha256: sha256Hex(payload) },
    files: fields.files,
  };
  checkManifest(manifest, 'E_BAD_ARGUMENT');
  const manifestBytes = asciiBytes(JSON.stringify(manifest));
  ensure(manifestBytes.length <= MAX_MANIFEST_BYTES, 'E_BAD_ARGUMENT', `manifest: ${manifestBytes.length} bytes, at most ${MAX_MANIFEST_BYTES}`);
  ensure(payload.length >= 1 && payload.length <= MAX_PAYLOAD_BYTES, 'E_BAD_ARGUMENT', `payload: expected 1..${MAX_PAYLOAD_BYTES} bytes, got ${payload.length}`);
  const header = new ByteWriter(FIRMWARE_HEADER_BYTES)
    .raw(FIRMWARE_MAGIC, 4) // magic
    .u8(FIRMWARE_VERSION) // version
    .u8(0) // flags
    .u16(0) // reserved
    .u32(manifestBytes.length) // manifestLength
    .u32(payload.length) // payloadLength
    .done();
  const signed = concatBytes(header, manifestBytes);
  return concatBytes(signed, key.sign(concatBytes(IMAGE_CONTEXT, signed)), payload);
}

/** Split an image into its parts; any layout error is E_FIRMWARE_FORMAT. Verifies nothing. */
export function parseFirmwareImage(bytes: Uint8Array): ParsedFirmwareImage {
  const fail = (why: string): never => {
    throw new SealcamError('E_FIRMWARE_FORMAT', `firmware image: ${why}`);
  };
  if (bytes.length < FIRMWARE_HEADER_BYTES) fail(`${bytes.length} bytes is shorter than the ${FIRMWARE_HEADER_BYTES}-byte header`);
  const r = new ByteReader(bytes, 'firmware image');
  if (!equalBytes(r.raw(4), FIRMWARE_MAGIC)) fail('bad magic (expected "SCFW")');
  const version = r.u8();
  if (version !== FIRMWARE_VERSION) fail(`unsupported version ${version} (expected ${FIRMWARE_VERSION})`);
  const flags = r.u8();
  if (flags !== 0) fail(`unknown flags 0x${flags.toString(16)}`);
  if (r.u16() !== 0) fail('reserved bytes 6..8 are not zero');
  const manifestLength = r.u32();
  const payloadLength = r.u32();
  if (manifestLength < 2 || manifestLength > MAX_MANIFEST_BYTES) fail(`manifestLength ${manifestLength} is outside 2..${MAX_MANIFEST_BYTES}`);
  if (payloadLength < 1) fail('payloadLength is 0');
  const expected = FIRMWARE_HEADER_BYTES + manifestLength + SIGNATURE_LENGTH + payloadLength;
  if (expected !== bytes.length) fail(`the header says ${expected} bytes (16 + manifest ${manifestLength} + signature 64 + payload ${payloadLength}), the file has ${bytes.length}`);
  const manifestBytes = r.view_(manifestLength);
  const signature = r.view_(SIGNATURE_LENGTH);
  const payload = r.view_(payloadLength);
  return { signed: bytes.subarray(0, FIRMWARE_HEADER_BYTES + manifestLength), manifestBytes, signature, payload };
}

/**
 * Everything that can be checked before decompression, in the order of the top comment. The
 * caller decompresses `payload` and passes the result to splitPayloadFiles.
 */
export function verifyFirmwareImage(bytes: Uint8Array, publicKey: Uint8Array, expect: FirmwareExpectations = {}): VerifiedFirmwareImage {
  ensure(publicKey.length === ED25519_PUBLIC_LENGTH, 'E_BAD_ARGUMENT', `firmware public key: expected 32 bytes, got ${publicKey.length}`);
  const parsed = parseFirmwareImage(bytes);
  checkSignature(parsed.signature, IMAGE_CONTEXT, parsed.signed, publicKey, 'firmware image');
  const manifest = parseManifestJson(parsed.manifestBytes);
  checkExpectations(manifest.board, manifest.securityVersion, expect, `firmware image ${manifest.version}`);
  const actual = sha256Hex(parsed.payload);
  if (actual !== manifest.payload.sha256) throw new SealcamError('E_FIRMWARE_HASH', `firmware payload: SHA-256 ${actual}, the manifest says ${manifest.payload.sha256}`);
  return { manifest, payload: parsed.payload };
}

/** Parse a manifest (the JSON only: use it on signed bytes). */
export function parseManifestJson(manifestBytes: Uint8Array): FirmwareManifest {
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(manifestBytes));
  } catch (e) {
    throw new SealcamError('E_FIRMWARE_FORMAT', `firmware manifest: not UTF-8 JSON (${(e as Error).message})`);
  }
  checkManifest(json, 'E_FIRMWARE_FORMAT');
  return json;
}

// ---- update announcement ------------------------------------------------------------------

/** sc/v1/fw/<board>/announce: the retained, signed announcement for a board (PROTOCOL.md §11). */
export function firmwareAnnounceTopic(board: string): string {
  ensure(BOARD_RE.test(board), 'E_BAD_ARGUMENT', `board: expected a board name, got ${JSON.stringify(board)}`);
  return `sc/v1/fw/${board}/announce`;
}

/** sc/v1/fw/<board>/image/<version>: the retained image named by an announcement. */
export function firmwareImageTopic(board: string, version: string): string {
  ensure(BOARD_RE.test(board), 'E_BAD_ARGUMENT', `board: expected a board name, got ${JSON.stringify(board)}`);
  ensure(/^[0-9A-Za-z][0-9A-Za-z.-]{0,63}$/.test(version), 'E_BAD_ARGUMENT', `version: expected [0-9A-Za-z.-], got ${JSON.stringify(version)}`);
  return `sc/v1/fw/${board}/image/${version}`;
}

/** Where the device fetches the image from: a retained MQTT message, or an https/http URL. */
export type ImageLocation = { readonly kind: 'mqtt'; readonly topic: string } | { readonly kind: 'url'; readonly url: string };

export interface UpdateAnnouncement {
  readonly format: 'sealcam-update-1';
  readonly board: string;
  readonly version: string;
  readonly securityVersion: number;
  /** SHA-256 of the whole image file, lowercase hex */
  readonly imageSha256: string;
  readonly imageSize: number;
  readonly location: ImageLocation;
}

export function encodeUpdateAnnouncement(fields: Omit<UpdateAnnouncement, 'format'>, key: SigningKey): Uint8Array {
  const body: UpdateAnnouncement = { format: 'sealcam-update-1', ...fields };
  checkAnnouncement(body, 'E_BAD_ARGUMENT');
  const bodyBytes = asciiBytes(JSON.stringify(body));
  ensure(bodyBytes.length <= MAX_ANNOUNCEMENT_BODY_BYTES, 'E_BAD_ARGUMENT', `announcement body: ${bodyBytes.length} bytes, at most ${MAX_ANNOUNCEMENT_BODY_BYTES}`);
  const header = new ByteWriter(ANNOUNCEMENT_HEADER_BYTES)
    .raw(ANNOUNCEMENT_MAGIC, 4) // magic
    .u8(ANNOUNCEMENT_VERSION) // version
    .u8(0) // flags
    .u16(0) // reserved
    .u32(bodyBytes.length) // bodyLength
    .done();
  const signed = concatBytes(header, bodyBytes);
  return concatBytes(signed, key.sign(concatBytes(ANNOUNCEMENT_CONTEXT, signed)));
}

/** Parse and verify an announcement with the pinned firmware key, then the board and downgrade rules. */
export function verifyUpdateAnnouncement(bytes: Uint8Array, publicKey: Uint8Array, expect: FirmwareExpectations = {}): UpdateAnnouncement {
  ensure(publicKey.length === ED25519_PUBLIC_LENGTH, 'E_BAD_ARGUMENT', `firmware public key: expected 32 bytes, got ${publicKey.length}`);
  const fail = (why: string): never => {
    throw new SealcamError('E_FIRMWARE_FORMAT', `update announcement: ${why}`);
  };
  if (bytes.length < ANNOUNCEMENT_HEADER_BYTES) fail(`${bytes.length} bytes is shorter than the header`);
  const r = new ByteReader(bytes, 'update announcement');
  if (!equalBytes(r.raw(4), ANNOUNCEMENT_MAGIC)) fail('bad magic (expected "SCUA")');
  const version = r.u8();
  if (version !== ANNOUNCEMENT_VERSION) fail(`unsupported version ${version}`);
  const flags = r.u8();
  if (flags !== 0) fail(`unknown flags 0x${flags.toString(16)}`);
  if (r.u16() !== 0) fail('reserved bytes are not zero');
  const bodyLength = r.u32();
  if (bodyLength < 2 || bodyLength > MAX_ANNOUNCEMENT_BODY_BYTES) fail(`bodyLength ${bodyLength} is outside 2..${MAX_ANNOUNCEMENT_BODY_BYTES}`);
  if (ANNOUNCEMENT_HEADER_BYTES + bodyLength + SIGNATURE_LENGTH !== bytes.length) fail(`the header says ${ANNOUNCEMENT_HEADER_BYTES + bodyLength + SIGNATURE_LENGTH} bytes, the message has ${bytes.length}`);
  const body = r.view_(bodyLength);
  const signature = r.view_(SIGNATURE_LENGTH);
  checkSignature(signature, ANNOUNCEMENT_CONTEXT, bytes.subarray(0, ANNOUNCEMENT_HEADER_BYTES + bodyLength), publicKey, 'update announcement');
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(body));
  } catch (e) {
    throw new SealcamError('E_FIRMWARE_FORMAT', `update announcement: body is not UTF-8 JSON (${(e as Error).message})`);
  }
  checkAnnouncement(json, 'E_FIRMWARE_FORMAT');
  checkExpectations(json.board, json.securityVersion, expect, `update ${json.version}`);
  return json;
}

// ---- checks -------------------------------------------------------------------------------

function checkSignature(signature: Uint8Array, context: Uint8Array, signed: Uint8Array, publicKey: Uint8Array, what: string): void {
  if (isAllZero(signature)) throw new SealcamError('E_FIRMWARE_UNSIGNED', `${what}: unsigned (the signature field is all zero)`);
  if (!verifySignature(publicKey, concatBytes(context, signed), signature)) {
    throw new SealcamError('E_FIRMWARE_SIGNATURE', `${what}: the signature does not verify with firmware key ${firmwareKeyId(publicKey)} (wrong key or tampered bytes)`);
  }
}

function checkExpectations(board: string, securityVersion: number, expect: FirmwareExpectations, what: string): void {
  if (expect.board !== undefined && board !== expect.board) throw new SealcamError('E_FIRMWARE_BOARD', `${what} is for board "${board}", this is "${expect.board}"`);
  if (expect.minSecurityVersion !== undefined && securityVersion < expect.minSecurityVersion) {
    throw new SealcamError('E_FIRMWARE_DOWNGRADE', `${what} has security version ${securityVersion}, below the installed minimum ${expect.minSecurityVersion}`);
  }
}

const BOARD_RE = /^[a-z0-9][a-z0-9-]{1,40}$/;
const HEX256_RE = /^[0-9a-f]{64}$/;
const PATH_SEGMENT_RE = /^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/;
const VERSION_RE = /^[0-9A-Za-z][0-9A-Za-z.+-]{0,63}$/;
const TOPIC_RE = /^[A-Za-z0-9_./-]{1,200}$/;

type Code = 'E_FIRMWARE_FORMAT' | 'E_BAD_ARGUMENT';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function checkKeys(o: Record<string, unknown>, keys: readonly string[], what: string, code: Code): void {
  for (const k of Object.keys(o)) ensure(keys.includes(k), code, `${what}: unknown field "${k}"`);
  for (const k of keys) ensure(k in o, code, `${what}: field "${k}" is missing`);
}

function checkUint(v: unknown, max: number, what: string, code: Code): asserts v is number {
  ensure(typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= max, code, `${what}: expected an integer in 0..${max}, got ${JSON.stringify(v)}`);
}

function checkString(v: unknown, re: RegExp, what: string, code: Code): asserts v is string {
  ensure(typeof v === 'string' && re.test(v), code, `${what}: expected a string matching ${re}, got ${JSON.stringify(v)?.slice(0, 80)}`);
}

function checkManifest(m: unknown, code: Code): asserts m is FirmwareManifest {
  ensure(isObject(m), code, 'firmware manifest: expected a JSON object');
  checkKeys(m, ['format', 'board', 'arch', 'version', 'securityVersion', 'builtAt', 'payload', 'files'], 'firmware manifest', code);
  ensure(m.format === MANIFEST_FORMAT, code, `firmware manifest: format ${JSON.stringify(m.format)}, expected "${MANIFEST_FORMAT}"`);
  checkString(m.board, BOARD_RE, 'firmware manifest: board', code);
  ensure(m.arch === 'x64' || m.arch === 'arm64', code, `firmware manifest: arch: expected "x64" or "arm64", got ${JSON.stringify(m.arch)}`);
  checkString(m.version, VERSION_RE, 'firmware manifest: version', code);
  checkUint(m.securityVersion, MAX_SECURITY_VERSION, 'firmware manifest: securityVersion', code);
  checkString(m.builtAt, /^\d{4}-\d{2}-\d{2}T[0-9:.]+Z$/, 'firmware manifest: builtAt', code);
  const p = m.payload;
  ensure(isObject(p), code, 'firmware manifest: payload: expected an object');
  checkKeys(p, ['compression', 'rawSize', 'sha256'], 'firmware manifest: payload', code);
  ensure(p.compression === 'zstd', code, `firmware manifest: payload.compression: expected "zstd", got ${JSON.stringify(p.compression)}`);
  checkUint(p.rawSize, MAX_RAW_PAYLOAD_BYTES, 'firmware manifest: payload.rawSize', code);
  checkString(p.sha256, HEX256_RE, 'firmware manifest: payload.sha256', code);
  ensure(Array.isArray(m.files), code, 'firmware manifest: files: expected an array');
  checkFileEntries(m.files, 'firmware manifest: files', code);
  const total = (m.files as FirmwareFileEntry[]).reduce((sum, f) => sum + f.size, 0);
  ensure(total === p.rawSize, code, `firmware manifest: the files add up to ${total} bytes, payload.rawSize is ${p.rawSize}`);
}

function checkFileEntries(files: readonly unknown[], what: string, code: Code = 'E_BAD_ARGUMENT'): void {
  ensure(files.length >= 1 && files.length <= MAX_FIRMWARE_FILES, code, `${what}: expected 1..${MAX_FIRMWARE_FILES} files, got ${files.length}`);
  const seen = new Set<string>();
  files.forEach((f, i) => {
    const at = `${what}[${i}]`;
    ensure(isObject(f), code, `${at}: expected an object`);
    checkKeys(f, ['path', 'size', 'sha256', 'mode'], at, code);
    ensure(typeof f.path === 'string' && f.path.split('/').every((s) => PATH_SEGMENT_RE.test(s)), code, `${at}.path: expected a relative path of [A-Za-z0-9._-] segments, got ${JSON.stringify(f.path)}`);
    ensure(!seen.has(f.path), code, `${at}.path: ${f.path} appears twice`);
    seen.add(f.path);
    checkUint(f.size, MAX_RAW_PAYLOAD_BYTES, `${at}.size`, code);
    checkString(f.sha256, HEX256_RE, `${at}.sha256`, code);
    ensure(f.mode === 0o644 || f.mode === 0o755, code, `${at}.mode: expected 420 (0644) or 493 (0755), got ${JSON.stringify(f.mode)}`);
  });
  // A file may not also be a directory of another (e.g. "app" and "app/x").
  for (const p of seen) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) ensure(!seen.has(parts.slice(0, i).join('/')), code, `${what}: ${parts.slice(0, i).join('/')} is both a file and a directory`);
  }
}

function checkAnnouncement(a: unknown, code: Code): asserts a is UpdateAnnouncement {
  ensure(isObject(a), code, 'update announcement: expected a JSON object');
  checkKeys(a, ['format', 'board', 'version', 'securityVersion', 'imageSha256', 'imageSize', 'location'], 'update announcement', code);
  ensure(a.format === 'sealcam-update-1', code, `update announcement: format ${JSON.stringify(a.format)}, expected "sealcam-update-1"`);
  checkString(a.board, BOARD_RE, 'update announcement: board', code);
  checkString(a.version, VERSION_RE, 'update announcement: version', code);
  checkUint(a.securityVersion, MAX_SECURITY_VERSION, 'update announcement: securityVersion', code);
  checkString(a.imageSha256, HEX256_RE, 'update announcement: imageSha256', code);
  checkUint(a.imageSize, MAX_PAYLOAD_BYTES, 'update announcement: imageSize', code);
  const l = a.location;
  ensure(isObject(l), code, 'update announcement: location: expected an object');
  if (l.kind === 'mqtt') {
    checkKeys(l, ['kind', 'topic'], 'update announcement: location', code);
    checkString(l.topic, TOPIC_RE, 'update announcement: location.topic', code);
  } else {
    ensure(l.kind === 'url', code, `update announcement: location.kind: expected "mqtt" or "url", got ${JSON.stringify(l.kind)}`);
    checkKeys(l, ['kind', 'url'], 'update announcement: location', code);
    checkString(l.url, /^https?:\/\/[^\s]{1,2000}$/, 'update announcement: location.url', code);
  }
}


// ---- key files ----------------------------------------------------------------------------

/**
 * Firmware key files are one line of text, so they cannot be mistaken for any other sealcam key:
 *   KEY      "sealcam-firmware-signing-key-v1:" || hex(Ed25519 seed, 32 bytes) || "\n"   (mode 0600)
 *   KEY.pub  "sealcam-firmware-public-key-v1:"  || hex(Ed25519 public key, 32 bytes) || "\n"
 */
const SIGNING_KEY_PREFIX = 'sealcam-firmware-signing-key-v1:';
const PUBLIC_KEY_PREFIX = 'sealcam-firmware-public-key-v1:';

export function formatFirmwareSigningKey(seed: Uint8Array): string {
  ensure(seed.length === 32, 'E_BAD_ARGUMENT', `firmware signing key: expected a 32-byte seed, got ${seed.length}`);
  return `${SIGNING_KEY_PREFIX}${toHex(seed)}\n`;
}

export function formatFirmwarePublicKey(publicKey: Uint8Array): string {
  ensure(publicKey.length === ED25519_PUBLIC_LENGTH, 'E_BAD_ARGUMENT', `firmware public key: expected 32 bytes, got ${publicKey.length}`);
  return `${PUBLIC_KEY_PREFIX}${toHex(publicKey)}\n`;
}

function parseKeyLine(text: string, prefix: string, what: string): Uint8Array {
  const line = text.trim();
  if (!line.startsWith(prefix)) {
    const hint = line.startsWith(SIGNING_KEY_PREFIX) || line.startsWith(PUBLIC_KEY_PREFIX) ? ` (this is a ${line.slice(0, line.indexOf(':'))} file)` : '';
    throw new SealcamError('E_BAD_KEY', `${what}: expected a line starting "${prefix}"${hint}`);
  }
  const hex = line.slice(prefix.length);
  if (!/^[0-9a-f]{64}$/.test(hex)) throw new SealcamError('E_BAD_KEY', `${what}: expected 64 lowercase hex digits after the prefix`);
  return fromHex(hex, 32, what);
}

export function parseFirmwareSigningKey(text: string, what = 'firmware signing key'): SigningKey {
  return new SigningKey(parseKeyLine(text, SIGNING_KEY_PREFIX, what));
}

export function parseFirmwarePublicKey(text: string, what = 'firmware public key'): Uint8Array {
  return parseKeyLine(text, PUBLIC_KEY_PREFIX, what);
}
