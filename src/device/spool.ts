/**
 * The store-and-forward spool: every sealed envelope is written here before it is published and
 * removed once the relay has confirmed storing it (a storage receipt, PROTOCOL.md §10.5). Bounded by bytes: when a new envelope does
 * not fit, the oldest entries are evicted — counted in `evicted` and reported on the status
 * topic, never dropped silently. Disk use stays within the cap plus one envelope.
 *
 *   <dir>/<seq, 16 digits>.env       one sealed envelope, written atomically (write, fsync, rename)
 *   <dir>/epoch-<epoch>.sck          the latest epoch announcement(s), re-published on reconnect
 *   <dir>/spool-state.json           {"v":1,"evicted":N,"evictedBytes":N}
 * A file that is not complete (a crash mid-write leaves only a dot-file) is never listed.
 */
import { mkdir, readdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { SealcamError } from '../protocol/errors.js';
import { writeFileAtomic } from '../media/atomic-file.js';

const ENTRY_RE = /^(\d{16})\.env$/;
const ANN_RE = /^epoch-(\d+)\.sck$/;

export interface SpoolStatus {
  entries: number;
  bytes: number;
  maxBytes: number;
  evicted: number;
  evictedBytes: number;
}

export class Spool {
  private readonly entries = new Map<number, number>(); // seq -> bytes
  private total = 0;
  private evicted = 0;
  private evictedBytes = 0;

  private constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {}

  static async open(dir: string, maxBytes: number): Promise<Spool> {
    if (!(Number.isSafeInteger(maxBytes) && maxBytes >= 1024)) throw new SealcamError('E_CONFIG', `spool: maxBytes ${maxBytes} too small`);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const spool = new Spool(dir, maxBytes);
    for (const name of await readdir(dir)) {
      const m = ENTRY_RE.exec(name);
      if (m) {
        const size = (await stat(join(dir, name))).size;
        spool.entries.set(Number(m[1]), size);
        spool.total += size;
      } else if (name.startsWith('.') && name.endsWith('.tmp')) {
        await rm(join(dir, name), { force: true }); // an interrupted write: never part of the spool
      }
    }
    const state = await readFile(join(dir, 'spool-state.json'), 'utf8').catch(() => null);
    if (state) {
      try {
        const s = JSON.parse(state) as { evicted: number; evictedBytes: number };
        spool.evicted = s.evicted;
        spool.evictedBytes = s.evictedBytes;
      } catch {
        // a damaged counter file is reset, not fatal
      }
    }
    return spool;
  }

  get status(): SpoolStatus {
    return { entries: this.entries.size, bytes: this.total, maxBytes: this.maxBytes, evicted: this.evicted, evictedBytes: this.evictedBytes };
  }

  /** Seqs waiting to be uploaded, oldest first. */
  pending(): number[] {
    return [...this.entries.keys()].sort((a, b) => a - b);
  }

  has(seq: number): boolean {
    return this.entries.has(seq);
  }

  async put(seq: number, envelope: Uint8Array): Promise<void> {
    if (this.entries.has(seq)) return;
    let evictedNow = 0;
    while (this.entries.size > 0 && this.total + envelope.length > this.maxBytes) {
      const oldest = this.pending()[0]!;
      this.evictedBytes += this.entries.get(oldest)!;
      await this.remove(oldest);
      this.evicted++;
      evictedNow++;
    }
    await writeFileAtomic(join(this.dir, entryName(seq)), envelope, 0o600);
    this.entries.set(seq, envelope.length);
    this.total += envelope.length;
    if (evictedNow) await this.saveState();
  }

  async read(seq: number): Promise<Uint8Array | null> {
    if (!this.entries.has(seq)) return null;
    return new Uint8Array(await readFile(join(this.dir, entryName(seq))));
  }

  async remove(seq: number): Promise<void> {
    const size = this.entries.get(seq);
    if (size === undefined) return;
    this.entries.delete(seq);
    this.total -= size;
    await rm(join(this.dir, entryName(seq)), { force: true });
  }

  async putAnnouncement(epoch: number, announcement: Uint8Array): Promise<void> {
    await writeFileAtomic(join(this.dir, `epoch-${epoch}.sck`), announcement, 0o600);
    // Keep only the newest two: the current epoch and the one before it.
    const epochs = (await readdir(this.dir)).map((n) => ANN_RE.exec(n)).filter((m) => m !== null).map((m) => Number(m![1])).sort((a, b) => b - a);
    for (const old of epochs.slice(2)) await rm(join(this.dir, `epoch-${old}.sck`), { force: true });
  }

  async announcements(): Promise<{ epoch: number; bytes: Uint8Array }[]> {
    const out: { epoch: number; bytes: Uint8Array }[] = [];
    for (const name of (await readdir(this.dir)).sort()) {
      const m = ANN_RE.exec(name);
      if (m) out.push({ epoch: Number(m[1]), bytes: new Uint8Array(await readFile(join(this.dir, name))) });
    }
    return out.sort((a, b) => a.epoch - b.epoch);
  }

  private async saveState(): Promise<void> {
    await writeFileAtomic(join(this.dir, 'spool-state.json'), `${JSON.stringify({ v: 1, evicted: this.evicted, evictedBytes: this.evictedBytes })}\n`, 0o600);
  }
}

function entryName(seq: number): string {
  return `${String(seq).padStart(16, '0')}.env`;
}
