/**
 * The opaque store: sealed envelopes and epoch announcements as the relay received them. It reads
 * only public header fields (PROTOCOL.md §6.1: camera id, epoch, seq, capture time) to file them;
 * it holds no key and imports no decryption path.
 *
 *   <data>/store/<account>/<camera>/seg/<epoch 10 digits>-<seq 16 digits>.scs
 *   <data>/store/<account>/<camera>/keys/<epoch 10 digits>.sck
 *
 * Each file is written atomically (exclusive temporary file, fsync, rename), so the directory
 * itself is the index and a crash can leave no half-written segment in it; an in-memory index is
 * rebuilt from it at start. No symlink inside the store is ever followed (data-dir.ts). The same
 * names can live in a replicated JetStream object store instead (store-backend.ts, the NATS
 * scale-out): `OpaqueStore.openOn(backend)`.
 *
 * Retention is per account (PROTOCOL.md §15.5): an account's segments and announcements together
 * stay under its quota and the age limit, and making room only ever evicts the uploading
 * account's own oldest files. What cannot fit even then is refused (E_QUOTA) and shown in the
 * account's usage and its camera's status.
 */
import { join } from 'node:path';
import { SealcamError } from '../protocol/errors.js';
import { decodeHeader, type SegmentHeader } from '../protocol/envelope.js';
import { equalBytes, toHex } from '../protocol/bytes.js';
import { ensurePrivateDir, openDataDir } from './data-dir.js';
import { FsBackend, type ListedFile, type OpenedFile, type StoreBackend, type StoreRef } from './store-backend.js';

export interface StoredSegment {
  account: string;
  camera: string;
  epoch: number;
  seq: number;
  captureTime: number;
  bytes: number;
  /** ms since the Unix epoch when the relay stored it */
  storedAt: number;
  final: boolean;
  kind: SegmentHeader['kind'];
}

export interface StoredAnnouncement {
  account: string;
  camera: string;
  epoch: number;
  bytes: number;
  storedAt: number;
}

export interface RetentionPolicy {
  /** drop segments and announcements stored longer ago than this (ms); default 30 days */
  maxAgeMs?: number;
  /** the whole store's ceiling in bytes; default 10 GiB. Reaching it makes the uploading account evict its own oldest files, never another's */
  maxBytes?: number;
  /** each account's quota in bytes, segments and announcements together; default 1 GiB */
  accountQuotaBytes?: number;
}

export const DEFAULT_ACCOUNT_QUOTA_BYTES = 1024 ** 3;
export const DEFAULT_MAX_STORE_BYTES = 10 * 1024 ** 3;
export const DEFAULT_MAX_AGE_MS = 30 * 86_400_000;
/** Listing pages (PROTOCOL.md §15.6). */
export const DEFAULT_PAGE = 500;
export const MAX_PAGE = 1000;

/** A camera's standing with the store, as its owner sees it (`GET …/cameras`, `…/usage`). */
export interface RefusalRecord {
  refused: number;
  refusedBytes: number;
  lastRefusedAt: number | null;
  /** the code of the last refusal, kept until something of this camera is stored again */
  status: 'ok' | 'E_QUOTA';
}

export interface AccountUsage extends RefusalRecord {
  account: string;
  quotaBytes: number;
  usedBytes: number;
  segments: number;
  announcements: number;
  evictedSegments: number;
  evictedAnnouncements: number;
  evictedBytes: number;
}

export interface CameraSummary extends RefusalRecord {
  camera: string;
  segments: number;
  announcements: number;
  /** segment and announcement bytes together: what counts toward the account's quota */
  bytes: number;
  firstSeq: number | null;
  lastSeq: number | null;
}

export interface Page<T> {
  items: T[];
  /** the cursor for `after` that returns the next page, or null on the last page */
  next: number | null;
}

type Entry = ({ type: 'seg' } & StoredSegment) | ({ type: 'key' } & StoredAnnouncement);

interface CameraState extends RefusalRecord {
  segments: StoredSegment[]; // ascending seq
  keys: StoredAnnouncement[]; // ascending epoch
  bytes: number;
  /** segments stored per epoch: an announcement is kept while any segment of its epoch is */
  segmentsPerEpoch: Map<number, number>;
}

interface AccountState extends RefusalRecord {
  bytes: number;
  /** every file of the account in stored order (oldest first); removed entries are skipped lazily */
  queue: Entry[];
  head: number;
  live: Set<Entry>;
  /** ids of the cameras the store knows in this account */
  cameras: Set<string>;
  evictedSegments: number;
  evictedAnnouncements: number;
  evictedBytes: number;
}

const SEG_RE = /^(\d{10})-(\d{16})\.scs$/;
/** the shortest time between two rescans of one directory (OpaqueStore.rescan) */
const RESCAN_MIN_MS = 1000;
const KEY_RE = /^(\d{10})\.sck$/;
const LEVEL_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;

export class OpaqueStore {
  private readonly cams = new Map<string, CameraState>();
  private readonly accounts = new Map<string, AccountState>();
  /** when each camera's (and account's) directory may next be rescanned for other workers' files */
  private readonly rescanAfter = new Map<string, number>();
  private totalBytes = 0;
  readonly stats = { stored: 0, duplicates: 0, conflicts: 0, rejected: 0, evicted: 0, refusedQuota: 0, gone: 0 };

  private constructor(
    readonly backend: StoreBackend,
    private readonly retention: Required<RetentionPolicy>,
  ) {}

  /** The store in <dataDir>/store (the default backend). */
  static async open(dataDir: string, retention: RetentionPolicy = {}): Promise<OpaqueStore> {
    await openDataDir(dataDir);
    const root = join(dataDir, 'store');
    await ensurePrivateDir(root, 'store/');
    return OpaqueStore.openOn(new FsBackend(root), retention);
  }

  /** The store on any backend (a JetStream object store for the NATS workers); the index is rebuilt from it. */
  static async openOn(backend: StoreBackend, retention: RetentionPolicy = {}): Promise<OpaqueStore> {
    const policy = { maxAgeMs: retention.maxAgeMs ?? DEFAULT_MAX_AGE_MS, maxBytes: retention.maxBytes ?? DEFAULT_MAX_STORE_BYTES, accountQuotaBytes: retention.accountQuotaBytes ?? DEFAULT_ACCOUNT_QUOTA_BYTES };
    for (const [k, v] of Object.entries(policy)) if (!Number.isSafeInteger(v) || v < 1) throw new SealcamError('E_BAD_ARGUMENT', `retention ${k}: expected a positive integer, got ${v}`);
    const store = new OpaqueStore(backend, policy);
    await store.rebuildIndex();
    return store;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  get accountQuotaBytes(): number {
    return this.retention.accountQuotaBytes;
  }

  /**
   * File an envelope received on <account>/<camera>/seg. The header must parse and name the camera
   * of the topic; anything else is refused (E_STORE) and counted, never stored. The same seq again
   * with the same bytes is a duplicate (null); with other bytes it is refused (E_STORE) and the
   * first copy stays. An envelope that does not fit the account's quota is E_QUOTA.
   */
  async putSegment(account: string, camera: string, envelope: Uint8Array, now = Date.now()): Promise<StoredSegment | null> {
    let header: SegmentHeader;
    try {
      header = decodeHeader(envelope);
    } catch (e) {
      this.stats.rejected++;
      throw new SealcamError('E_STORE', `not a sealcam envelope on ${account}/${camera}: ${(e as Error).message}`);
    }
    if (toHex(header.cameraId) !== camera) {
      // A camera may publish only under its own topic (ACL), and its envelopes name it: anything
      // else would let one camera slip segments into another's history.
      this.stats.rejected++;
      throw new SealcamError('E_STORE', `envelope names camera ${toHex(header.cameraId)} but arrived on ${account}/${camera}`);
    }
    checkLevels(account, camera);
    const cam = this.camera(account, camera);
    const i = seqIndex(cam.segments, header.seq);
    const same = cam.segments[i];
    if (same && same.seq === header.seq) {
      if (same.epoch === header.epoch && same.bytes === envelope.length && (await this.sameBytes(segRef(same), envelope))) {
        this.stats.duplicates++;
        return null;
      }
      this.stats.conflicts++;
      throw new SealcamError('E_STORE', `${account}/${camera}: seq ${header.seq} is already stored with other bytes; the first copy is kept`);
    }
    const entry: StoredSegment = { account, camera, epoch: header.epoch, seq: header.seq, captureTime: header.captureTime, bytes: envelope.length, storedAt: now, final: header.final, kind: header.kind };
    // Not in this index, but another worker sharing the store may have filed it since this one
    // last looked (a redelivery after a worker died): its copy is found by name and kept, never
    // written over. (Writing over it also made the object store delete and re-add it, which is
    // what let nats-server 2.9 lose a restarted replica's copy: docs/SCALING.md.)
    const there = await this.backend.read(segRef(entry));
    if (there) {
      let stored: SegmentHeader = header;
      try {
        stored = decodeHeader(there);
      } catch {
        // not a header: the copy there is still kept and this upload refused below
      }
      if (!this.indexed(account, camera, { seq: entry.seq })) this.addSegment({ ...entry, bytes: there.length, captureTime: stored.captureTime, final: stored.final, kind: stored.kind });
      if (equalBytes(there, envelope)) {
        this.stats.duplicates++;
        return null;
      }
      this.stats.conflicts++;
      throw new SealcamError('E_STORE', `${account}/${camera}: seq ${header.seq} is already stored (by another worker) with other bytes; the first copy is kept`);
    }
    await this.makeRoom(account, camera, envelope.length, now);
    await this.backend.write(segRef(entry), envelope, { captureTime: entry.captureTime, final: entry.final, kind: entry.kind });
    if (!this.indexed(account, camera, { seq: entry.seq })) this.addSegment(entry); // a rescan may have listed the file already
    cam.status = 'ok';
    this.account(account).status = 'ok';
    this.stats.stored++;
    await this.applyAgeLimit(now);
    return entry;
  }

  /**
   * File an announcement, by the epoch in its bytes 24..28 (§11.1). It counts toward the quota and
   * is retained like segments; a byte-identical copy (the camera re-publishes its newest two on
   * every connect) changes nothing (false), other bytes for the same epoch replace the file (true).
   */
  async putAnnouncement(account: string, camera: string, announcement: Uint8Array, epoch: number, now = Date.now()): Promise<boolean> {
    checkLevels(account, camera);
    const cam = this.camera(account, camera);
    let old = cam.keys.find((k) => k.epoch === epoch);
    // Not indexed: another worker sharing the store may have filed it since this one last looked
    // (the camera sends its newest two on every connect). It is read by name and indexed, so a
    // copy with the same bytes is not written again.
    const there = old ? null : await this.backend.read(keyRef({ account, camera, epoch }));
    if (there) {
      if (!cam.keys.some((k) => k.epoch === epoch)) this.addAnnouncement({ account, camera, epoch, bytes: there.length, storedAt: now });
      old = cam.keys.find((k) => k.epoch === epoch);
    }
    const same = there ? equalBytes(there, announcement) : old !== undefined && old.bytes === announcement.length && (await this.sameBytes(keyRef(old), announcement));
    if (same) {
      this.stats.duplicates++;
      return false;
    }
    await this.makeRoom(account, camera, announcement.length - (old?.bytes ?? 0), now, old);
    await this.backend.write(keyRef({ account, camera, epoch }), announcement, null);
    if (old) this.forget({ type: 'key', ...old });
    const listed = cam.keys.find((k) => k.epoch === epoch); // by a rescan meanwhile
    if (listed) this.forget({ type: 'key', ...listed });
    this.addAnnouncement({ account, camera, epoch, bytes: announcement.length, storedAt: now });
    cam.status = 'ok';
    this.account(account).status = 'ok';
    await this.applyAgeLimit(now);
    return true;
  }

  /**
   * Catch up with files other processes filed into, or evicted from, the same store directory
   * (stateless NATS store workers share one, docs/SCALING.md): the camera directories of `account`,
   * and for `camera` (or every camera found) its seg/ and keys/ names against the index. Only names
   * the index lacks are opened. Bounded: a directory is read again only after RESCAN_MIN_MS, or
   * after 20 times what its last scan took if that is longer, so rescans cost at most ~5 % of the
   * time even for a camera with a month of segments.
   */
  async rescan(account: string, camera?: string): Promise<void> {
    if (!LEVEL_RE.test(account)) return;
    // A backend that cannot list right now (a cluster electing a leader) leaves the index as it is.
    await this.rescanNow(account, camera).catch((e: unknown) => {
      if (!SealcamError.is(e, 'E_BROKER')) throw e;
    });
  }

  private async rescanNow(account: string, camera?: string): Promise<void> {
    const cameras = camera === undefined ? await this.scanned(account, () => this.backend.cameras(account)) : [camera];
    for (const c of cameras ?? this.cameras(account)) {
      if (/^[0-9a-f]{32}$/.test(c)) await this.scanned(`${account}/${c}`, () => this.rescanCamera(account, c));
    }
  }

  /** Run `scan` unless the directory `k` was scanned too recently (then undefined). */
  private async scanned<T>(k: string, scan: () => Promise<T>): Promise<T | undefined> {
    const now = Date.now();
    if ((this.rescanAfter.get(k) ?? 0) > now) return undefined;
    const t0 = performance.now();
    try {
      return await scan();
    } finally {
      this.rescanAfter.set(k, Date.now() + Math.max(RESCAN_MIN_MS, 20 * (performance.now() - t0)));
    }
  }

  private async rescanCamera(account: string, camera: string): Promise<void> {
    const files = await this.backend.list({ account, camera });
    const present = new Set(files.map((f) => `${f.leaf}/${f.name}`));
    for (const f of files) {
      const seg = f.leaf === 'seg' ? SEG_RE.exec(f.name) : null;
      const k = f.leaf === 'keys' ? KEY_RE.exec(f.name) : null;
      if (!seg && !k) continue;
      if (this.indexed(account, camera, seg ? { seq: Number(seg[2]) } : { epoch: Number(k![1]) })) continue;
      const entry = await this.entryOf(f).catch(() => null);
      // Checked again after the await: this process may have filed it meanwhile.
      if (!entry || this.indexed(account, camera, entry.type === 'seg' ? { seq: entry.seq } : { epoch: entry.epoch })) continue;
      if (entry.type === 'seg') this.addSegment(entry);
      else this.addAnnouncement(entry);
    }
    // Files another worker evicted (retention, quota) leave the index too.
    const cam = this.cams.get(key(account, camera));
    const indexed = [...(cam?.segments ?? []), ...(cam?.keys ?? [])] as Entry[]; // entries are tagged when added (addSegment, addAnnouncement)
    for (const e of indexed) {
      const ref = refOf(e);
      if (!present.has(`${ref.leaf}/${ref.name}`)) this.forget(e);
    }
  }

  private indexed(account: string, camera: string, what: { seq: number } | { epoch: number }): boolean {
    const cam = this.cams.get(key(account, camera));
    if (!cam) return false;
    if ('seq' in what) return cam.segments[seqIndex(cam.segments, what.seq)]?.seq === what.seq;
    return cam.keys.some((k) => k.epoch === what.epoch);
  }

  cameras(account: string): string[] {
    return [...(this.accounts.get(account)?.cameras ?? [])].sort();
  }

  cameraSummaries(account: string): CameraSummary[] {
    return this.cameras(account).map((camera) => {
      const c = this.cams.get(key(account, camera))!;
      return { camera, segments: c.segments.length, announcements: c.keys.length, bytes: c.bytes, firstSeq: c.segments[0]?.seq ?? null, lastSeq: c.segments.at(-1)?.seq ?? null, status: c.status, refused: c.refused, refusedBytes: c.refusedBytes, lastRefusedAt: c.lastRefusedAt };
    });
  }

  usage(account: string): AccountUsage {
    const a = this.accounts.get(account);
    let segments = 0;
    let announcements = 0;
    for (const camera of this.cameras(account)) {
      const c = this.cams.get(key(account, camera))!;
      segments += c.segments.length;
      announcements += c.keys.length;
    }
    return {
      account,
      quotaBytes: this.retention.accountQuotaBytes,
      usedBytes: a?.bytes ?? 0,
      segments,
      announcements,
      evictedSegments: a?.evictedSegments ?? 0,
      evictedAnnouncements: a?.evictedAnnouncements ?? 0,
      evictedBytes: a?.evictedBytes ?? 0,
      status: a?.status ?? 'ok',
      refused: a?.refused ?? 0,
      refusedBytes: a?.refusedBytes ?? 0,
      lastRefusedAt: a?.lastRefusedAt ?? null,
    };
  }

  /** Segments of one camera in seq order, optionally limited to a capture-time range (the whole list: for tests and the demo). */
  list(account: string, camera: string, range: { since?: number; until?: number } = {}): StoredSegment[] {
    const all = this.cams.get(key(account, camera))?.segments ?? [];
    return all.filter((s) => (range.since === undefined || s.captureTime >= range.since) && (range.until === undefined || s.captureTime <= range.until));
  }

  /** One page of a camera's segments with seq > `after`, in seq order (§15.6). */
  segmentPage(account: string, camera: string, q: { since?: number; until?: number; after?: number; limit?: number } = {}): Page<StoredSegment> {
    const all = this.cams.get(key(account, camera))?.segments ?? [];
    const limit = pageLimit(q.limit);
    const items: StoredSegment[] = [];
    let i = q.after === undefined ? 0 : seqIndex(all, q.after + 1);
    for (; i < all.length && items.length < limit; i++) {
      const s = all[i]!;
      if ((q.since === undefined || s.captureTime >= q.since) && (q.until === undefined || s.captureTime <= q.until)) items.push(s);
    }
    return { items, next: i < all.length && items.length === limit ? items.at(-1)!.seq : null };
  }

  /** One page of a camera's announcements with epoch > `after`, ascending. */
  announcementPage(account: string, camera: string, q: { after?: number; limit?: number } = {}): Page<StoredAnnouncement> {
    const all = this.cams.get(key(account, camera))?.keys ?? [];
    const limit = pageLimit(q.limit);
    let i = 0;
    while (q.after !== undefined && i < all.length && all[i]!.epoch <= q.after) i++;
    const items = all.slice(i, i + limit);
    return { items, next: i + limit < all.length ? items.at(-1)!.epoch : null };
  }

  /**
   * A stored envelope opened for streaming, or null if none is listed. A listed file that is gone
   * from disk (or replaced by a symlink, which is never followed) is dropped from the index and
   * is E_GONE.
   */
  /** The indexed segment `seq` of a camera, or undefined. */
  private segmentEntry(account: string, camera: string, seq: number): StoredSegment | undefined {
    const cam = this.cams.get(key(account, camera));
    const entry = cam?.segments[seqIndex(cam.segments, seq)];
    return entry?.seq === seq ? entry : undefined;
  }

  async openSegment(account: string, camera: string, seq: number): Promise<OpenedFile | null> {
    const entry = this.segmentEntry(account, camera, seq);
    return entry ? this.openListed({ type: 'seg', ...entry }, `segment ${seq}`) : null;
  }

  async openAnnouncement(account: string, camera: string, epoch: number): Promise<OpenedFile | null> {
    const entry = this.cams.get(key(account, camera))?.keys.find((k) => k.epoch === epoch);
    if (entry) return this.openListed({ type: 'key', ...entry }, `announcement ${epoch}`);
    // Not indexed: another worker sharing the store may have filed it since this one last looked.
    // An announcement's name is its epoch, so it is looked up directly rather than by a listing.
    if (!LEVEL_RE.test(account) || !/^[0-9a-f]{32}$/.test(camera)) return null;
    const file = await this.backend.open(keyRef({ account, camera, epoch }));
    if (file && !this.indexed(account, camera, { epoch })) this.addAnnouncement({ account, camera, epoch, bytes: file.size, storedAt: Date.now() });
    return file;
  }

  async readSegment(account: string, camera: string, seq: number): Promise<Uint8Array | null> {
    const entry = this.segmentEntry(account, camera, seq);
    if (!entry) return null;
    const bytes = await this.backend.read(segRef(entry));
    if (!bytes) this.gone({ type: 'seg', ...entry }, `segment ${seq}`);
    return bytes;
  }

  /** Every announcement of a camera with its bytes (tests and audits; the HTTP API pages instead). */
  async announcements(account: string, camera: string): Promise<{ epoch: number; bytes: Uint8Array }[]> {
    const out: { epoch: number; bytes: Uint8Array }[] = [];
    for (const k of this.cams.get(key(account, camera))?.keys ?? []) {
      const bytes = await this.backend.read(keyRef(k));
      if (bytes) out.push({ epoch: k.epoch, bytes });
    }
    return out;
  }

  /** Every file the store holds (for audits such as "no plaintext at rest"). */
  allFiles(): Promise<string[]> {
    return this.backend.allFiles();
  }

  // ---- retention --------------------------------------------------------------------------

  /**
   * Make room for `incoming` more bytes of `account`: evict the account's own oldest evictable
   * files until it is under its quota and the store under its ceiling. If that cannot be done
   * (its protected files, the newest announcement of each camera, leave no room), nothing is
   * evicted and the write is refused with E_QUOTA.
   */
  private async makeRoom(account: string, camera: string, incoming: number, now: number, replacing?: StoredAnnouncement): Promise<void> {
    const a = this.account(account);
    const protectedBytes = this.protectedBytes(account, replacing);
    const quota = this.retention.accountQuotaBytes;
    const ceiling = this.retention.maxBytes;
    const fitsQuota = protectedBytes + Math.max(0, incoming) <= quota;
    const fitsStore = this.totalBytes - (a.bytes - protectedBytes) + Math.max(0, incoming) <= ceiling;
    if (!fitsQuota || !fitsStore) {
      for (const r of [a, this.camera(account, camera)]) {
        r.status = 'E_QUOTA';
        r.refused++;
        r.refusedBytes += Math.max(0, incoming);
        r.lastRefusedAt = now;
      }
      this.stats.refusedQuota++;
      throw new SealcamError('E_QUOTA', fitsQuota ? `${account}/${camera}: the relay's store is full (${ceiling} bytes)` : `${account}/${camera}: ${incoming} bytes do not fit the account's quota of ${quota} bytes`);
    }
    while (a.bytes + incoming > quota || this.totalBytes + incoming > ceiling) {
      const victim = this.oldestEvictable(a, replacing);
      if (!victim) break; // cannot happen after the checks above; never evict another account
      await this.evict(victim);
    }
  }

  /** Bytes of an account that are never evicted to make room: each camera's newest announcement. */
  private protectedBytes(account: string, replacing?: StoredAnnouncement): number {
    let n = 0;
    for (const camera of this.cameras(account)) {
      const newest = this.cams.get(key(account, camera))!.keys.at(-1);
      if (newest && newest !== replacing) n += newest.bytes;
    }
    return n;
  }

  private oldestEvictable(a: AccountState, replacing?: StoredAnnouncement): Entry | null {
    for (let i = a.head; i < a.queue.length; i++) {
      const e = a.queue[i]!;
      if (!a.live.has(e)) continue;
      if (e.type === 'seg') return e;
      const cam = this.cams.get(key(e.account, e.camera))!;
      const isNewest = cam.keys.at(-1)?.epoch === e.epoch;
      if (!isNewest && !cam.segmentsPerEpoch.get(e.epoch) && e.epoch !== replacing?.epoch) return e;
    }
    return null;
  }

  /** Drop what is older than the age limit, in every account (each account's oldest first). */
  private async applyAgeLimit(now: number): Promise<void> {
    const cutoff = now - this.retention.maxAgeMs;
    for (const a of this.accounts.values()) {
      for (;;) {
        const e = this.oldestEvictable(a);
        if (!e || e.storedAt >= cutoff) break;
        await this.evict(e);
      }
    }
  }

  private async evict(e: Entry): Promise<void> {
    await this.backend.remove(refOf(e));
    this.forget(e);
    const a = this.account(e.account);
    if (e.type === 'seg') a.evictedSegments++;
    else a.evictedAnnouncements++;
    a.evictedBytes += e.bytes;
    this.stats.evicted++;
  }

  // ---- the index ----------------------------------------------------------------------------

  private camera(account: string, camera: string): CameraState {
    let c = this.cams.get(key(account, camera));
    if (!c) {
      c = { segments: [], keys: [], bytes: 0, segmentsPerEpoch: new Map(), status: 'ok', refused: 0, refusedBytes: 0, lastRefusedAt: null };
      this.cams.set(key(account, camera), c);
      this.account(account).cameras.add(camera);
    }
    return c;
  }

  private account(account: string): AccountState {
    let a = this.accounts.get(account);
    if (!a) {
      a = { bytes: 0, queue: [], head: 0, live: new Set(), cameras: new Set(), evictedSegments: 0, evictedAnnouncements: 0, evictedBytes: 0, status: 'ok', refused: 0, refusedBytes: 0, lastRefusedAt: null };
      this.accounts.set(account, a);
    }
    return a;
  }

  private track(e: Entry): void {
    const a = this.account(e.account);
    a.queue.push(e);
    a.live.add(e);
    a.bytes += e.bytes;
    this.camera(e.account, e.camera).bytes += e.bytes;
    this.totalBytes += e.bytes;
  }

  private addSegment(s: StoredSegment): void {
    const cam = this.camera(s.account, s.camera);
    const entry: Entry = Object.assign(s, { type: 'seg' as const });
    cam.segments.splice(seqIndex(cam.segments, s.seq), 0, entry);
    cam.segmentsPerEpoch.set(s.epoch, (cam.segmentsPerEpoch.get(s.epoch) ?? 0) + 1);
    this.track(entry);
  }

  private addAnnouncement(k: StoredAnnouncement): void {
    const cam = this.camera(k.account, k.camera);
    const entry: Entry = Object.assign(k, { type: 'key' as const });
    let i = cam.keys.length;
    while (i > 0 && cam.keys[i - 1]!.epoch > k.epoch) i--;
    cam.keys.splice(i, 0, entry);
    this.track(entry);
  }

  /** Take a file out of the index (it was evicted, replaced or found gone). */
  private forget(e: Entry): void {
    const a = this.account(e.account);
    const cam = this.camera(e.account, e.camera);
    const live = (e.type === 'seg' ? cam.segments[seqIndex(cam.segments, e.seq)] : cam.keys.find((x) => x.epoch === e.epoch)) as Entry | undefined;
    if (!live || (live.type === 'seg' && (e.type !== 'seg' || live.seq !== e.seq))) return;
    if (live.type === 'seg') {
      cam.segments.splice(cam.segments.indexOf(live), 1);
      const n = (cam.segmentsPerEpoch.get(live.epoch) ?? 1) - 1;
      if (n > 0) cam.segmentsPerEpoch.set(live.epoch, n);
      else cam.segmentsPerEpoch.delete(live.epoch);
    } else {
      cam.keys.splice(cam.keys.indexOf(live), 1);
    }
    a.live.delete(live);
    a.bytes -= live.bytes;
    cam.bytes -= live.bytes;
    this.totalBytes -= live.bytes;
    // Dead entries at the head of the queue are dropped; compact when they are most of it.
    while (a.head < a.queue.length && !a.live.has(a.queue[a.head]!)) a.head++;
    if (a.head > 1024 && a.head * 2 > a.queue.length) {
      a.queue = a.queue.slice(a.head).filter((x) => a.live.has(x));
      a.head = 0;
    }
  }

  /** A listed file opened for reading; one that is gone (or is not a regular file) leaves the index: E_GONE. */
  private async openListed(e: Entry, what: string): Promise<OpenedFile> {
    return (await this.backend.open(refOf(e))) ?? this.gone(e, what);
  }

  private gone(e: Entry, what: string): never {
    this.forget(e);
    this.stats.gone++;
    throw new SealcamError('E_GONE', `${what} was listed but is no longer in the store`);
  }

  /**
   * Whether the listed file at `ref` holds exactly `bytes`. A read that fails throws (the upload is
   * not acknowledged and comes again) rather than calling a copy a conflict it may not be.
   */
  private async sameBytes(ref: StoreRef, bytes: Uint8Array): Promise<boolean> {
    const stored = await this.backend.read(ref);
    return stored !== null && equalBytes(stored, bytes);
  }

  /** An index entry for a listed file: names give the epoch and seq, the header (or the backend's copy of it) the rest. */
  private async entryOf(f: ListedFile): Promise<Entry | null> {
    const { account, camera } = f;
    if (f.leaf === 'keys') {
      const m = KEY_RE.exec(f.name);
      return m ? { type: 'key', account, camera, epoch: Number(m[1]), bytes: f.bytes, storedAt: f.storedAt } : null;
    }
    const m = SEG_RE.exec(f.name);
    if (!m) return null;
    let meta = f.meta;
    if (!meta) {
      const head = await this.backend.readHead(f, 80);
      if (!head) return null;
      try {
        const h = decodeHeader(head);
        meta = { captureTime: h.captureTime, final: h.final, kind: h.kind };
      } catch {
        return null;
      }
    }
    return { type: 'seg', account, camera, epoch: Number(m[1]), seq: Number(m[2]), bytes: f.bytes, storedAt: f.storedAt, ...meta };
  }

  private async rebuildIndex(): Promise<void> {
    const found: Entry[] = [];
    for (const f of await this.backend.list({})) {
      const entry = await this.entryOf(f);
      if (entry) found.push(entry);
    }
    found.sort((x, y) => x.storedAt - y.storedAt);
    for (const e of found) {
      if (e.type === 'seg') this.addSegment(e);
      else this.addAnnouncement(e);
    }
  }
}

function checkLevels(account: string, camera: string): void {
  if (!LEVEL_RE.test(account) || !/^[0-9a-f]{32}$/.test(camera)) throw new SealcamError('E_STORE', 'account or camera level is not a valid topic level');
}

function pageLimit(limit: number | undefined): number {
  return Math.min(Math.max(1, limit ?? DEFAULT_PAGE), MAX_PAGE);
}

/** Index of the first segment with seq ≥ `seq` (binary search; the list is in seq order). */
function seqIndex(list: StoredSegment[], seq: number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid]!.seq < seq) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

function key(account: string, camera: string): string {
  return `${account}/${camera}`;
}

function segName(epoch: number, seq: number): string {
  return `${String(epoch).padStart(10, '0')}-${String(seq).padStart(16, '0')}.scs`;
}

function keyName(epoch: number): string {
  return `${String(epoch).padStart(10, '0')}.sck`;
}

function segRef(s: { account: string; camera: string; epoch: number; seq: number }): StoreRef {
  return { account: s.account, camera: s.camera, leaf: 'seg', name: segName(s.epoch, s.seq) };
}

function keyRef(k: { account: string; camera: string; epoch: number }): StoreRef {
  return { account: k.account, camera: k.camera, leaf: 'keys', name: keyName(k.epoch) };
}

function refOf(e: Entry): StoreRef {
  return e.type === 'seg' ? segRef(e) : keyRef(e);
}
