/**
 * The opaque store: sealed envelopes and epoch announcements as the relay received them. It reads
 * only public header fields (PROTOCOL.md §6.1: camera id, epoch, seq, capture time) to file them;
 * it holds no key and imports no decryption path.
 *
 *   <data>/store/<account>/<camera>/seg/<epoch 10 digits>-<seq 16 digits>.scs
 *   <data>/store/<account>/<camera>/keys/<epoch 10 digits>.sck
 *
 * Each file is written atomically (write, fsync, rename), so the directory itself is the index and
 * a crash can leave no half-written segment in it; an in-memory index is rebuilt from it at start.
 * Retention drops the oldest segments by age and by total bytes.
 */
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SealcamError } from '../protocol/errors.js';
import { decodeHeader, type SegmentHeader } from '../protocol/envelope.js';
import { toHex } from '../protocol/bytes.js';
import { writeFileAtomic } from '../media/atomic-file.js';

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

export interface RetentionPolicy {
  /** drop segments stored longer ago than this (ms); default 30 days */
  maxAgeMs?: number;
  /** keep the store under this many bytes of segments; default 10 GiB */
  maxBytes?: number;
}

const SEG_RE = /^(\d{10})-(\d{16})\.scs$/;
const KEY_RE = /^(\d{10})\.sck$/;

export class OpaqueStore {
  private readonly index = new Map<string, StoredSegment[]>();
  private totalBytes = 0;
  readonly stats = { stored: 0, duplicates: 0, rejected: 0, evicted: 0 };

  private constructor(
    readonly root: string,
    private readonly retention: Required<RetentionPolicy>,
  ) {}

  static async open(dataDir: string, retention: RetentionPolicy = {}): Promise<OpaqueStore> {
    const root = join(dataDir, 'store');
    await mkdir(root, { recursive: true, mode: 0o700 });
    const store = new OpaqueStore(root, { maxAgeMs: retention.maxAgeMs ?? 30 * 86_400_000, maxBytes: retention.maxBytes ?? 10 * 1024 ** 3 });
    await store.rebuildIndex();
    return store;
  }

  get bytes(): number {
    return this.totalBytes;
  }

  /**
   * File an envelope received on <account>/<camera>/seg. The header must parse and name the camera
   * of the topic; anything else is refused (E_STORE) and counted, never stored.
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
    const list = this.list(account, camera);
    if (list.some((s) => s.seq === header.seq && s.epoch === header.epoch)) {
      this.stats.duplicates++;
      return null;
    }
    const dir = join(this.root, account, camera, 'seg');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(dir, segName(header.epoch, header.seq)), envelope, 0o600);
    const entry: StoredSegment = { account, camera, epoch: header.epoch, seq: header.seq, captureTime: header.captureTime, bytes: envelope.length, storedAt: now, final: header.final, kind: header.kind };
    insertSorted(list, entry);
    this.index.set(key(account, camera), list);
    this.totalBytes += envelope.length;
    this.stats.stored++;
    await this.applyRetention(now);
    return entry;
  }

  async putAnnouncement(account: string, camera: string, announcement: Uint8Array, epoch: number): Promise<void> {
    const dir = join(this.root, account, camera, 'keys');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await writeFileAtomic(join(dir, `${String(epoch).padStart(10, '0')}.sck`), announcement, 0o600);
  }

  cameras(account: string): string[] {
    return [...this.index.keys()].filter((k) => k.startsWith(`${account}/`)).map((k) => k.slice(account.length + 1)).sort();
  }

  /** Segments of one camera in seq order, optionally limited to a capture-time range. */
  list(account: string, camera: string, range: { since?: number; until?: number } = {}): StoredSegment[] {
    const all = this.index.get(key(account, camera)) ?? [];
    if (range.since === undefined && range.until === undefined) return all;
    return all.filter((s) => (range.since === undefined || s.captureTime >= range.since) && (range.until === undefined || s.captureTime <= range.until));
  }

  async readSegment(account: string, camera: string, seq: number): Promise<Uint8Array | null> {
    const entry = this.list(account, camera).find((s) => s.seq === seq);
    if (!entry) return null;
    return new Uint8Array(await readFile(join(this.root, account, camera, 'seg', segName(entry.epoch, entry.seq))));
  }

  async announcements(account: string, camera: string): Promise<{ epoch: number; bytes: Uint8Array }[]> {
    const dir = join(this.root, account, camera, 'keys');
    const names = await readdir(dir).catch(() => [] as string[]);
    const out: { epoch: number; bytes: Uint8Array }[] = [];
    for (const n of names.sort()) {
      const m = KEY_RE.exec(n);
      if (m) out.push({ epoch: Number(m[1]), bytes: new Uint8Array(await readFile(join(dir, n))) });
    }
    return out;
  }

  /** Every file the store holds (for audits such as "no plaintext at rest"). */
  async allFiles(): Promise<string[]> {
    const out: string[] = [];
    const walk = async (dir: string) => {
      for (const e of await readdir(dir, { withFileTypes: true })) {
        const p = join(dir, e.name);
        if (e.isDirectory()) await walk(p);
        else out.push(p);
      }
    };
    await walk(this.root);
    return out;
  }

  private async applyRetention(now: number): Promise<void> {
    // Runs for every stored segment, so it is cheap unless something is over budget. Each camera's
    // list is in seq order, which is upload order but for late re-uploads: its first entry stands in
    // for its oldest (a re-uploaded older seq waits for the age check until that entry is due).
    const cutoff = now - this.retention.maxAgeMs;
    const overAge = [...this.index.values()].some((list) => list.length > 0 && list[0]!.storedAt < cutoff);
    if (this.totalBytes <= this.retention.maxBytes && !overAge) return;
    const all = [...this.index.values()].flat().sort((a, b) => a.storedAt - b.storedAt || a.seq - b.seq);
    for (const s of all) {
      if (this.totalBytes <= this.retention.maxBytes && now - s.storedAt <= this.retention.maxAgeMs) break;
      await rm(join(this.root, s.account, s.camera, 'seg', segName(s.epoch, s.seq)), { force: true });
      const list = this.index.get(key(s.account, s.camera))!;
      list.splice(list.indexOf(s), 1);
      this.totalBytes -= s.bytes;
      this.stats.evicted++;
    }
  }

  private async rebuildIndex(): Promise<void> {
    for (const account of await readdir(this.root).catch(() => [] as string[])) {
      for (const camera of await readdir(join(this.root, account)).catch(() => [] as string[])) {
        const dir = join(this.root, account, camera, 'seg');
        const list: StoredSegment[] = [];
        for (const name of await readdir(dir).catch(() => [] as string[])) {
          const m = SEG_RE.exec(name);
          if (!m) {
            // Leftover temporary file from a crash mid-write: never part of the index.
            if (name.startsWith('.')) await rm(join(dir, name), { force: true });
            continue;
          }
          const path = join(dir, name);
          const [st, head] = await Promise.all([stat(path), readFile(path).then((b) => b.subarray(0, 80))]);
          let header: SegmentHeader;
          try {
            header = decodeHeader(new Uint8Array(head));
          } catch {
            continue;
          }
          list.push({ account, camera, epoch: Number(m[1]), seq: Number(m[2]), captureTime: header.captureTime, bytes: st.size, storedAt: st.mtimeMs, final: header.final, kind: header.kind });
          this.totalBytes += st.size;
        }
        list.sort((a, b) => a.seq - b.seq);
        if (list.length) this.index.set(key(account, camera), list);
      }
    }
  }
}

function key(account: string, camera: string): string {
  return `${account}/${camera}`;
}

function segName(epoch: number, seq: number): string {
  return `${String(epoch).padStart(10, '0')}-${String(seq).padStart(16, '0')}.scs`;
}

function insertSorted(list: StoredSegment[], entry: StoredSegment): void {
  let i = list.length;
  while (i > 0 && list[i - 1]!.seq > entry.seq) i--;
  list.splice(i, 0, entry);
}
