/**
 * Where the opaque store's files live (store.ts keeps the index, quotas and retention above this):
 *
 * - `FsBackend` (the default, the embedded relay): <data>/store/<account>/<camera>/{seg,keys}/<name>,
 *   each file written atomically (exclusive temporary file, fsync, rename), 0600, in 0700
 *   directories; no symlink inside the store is ever followed (data-dir.ts).
 * - `JetStreamBackend` (the NATS scale-out, issue 15): the same names as objects of a JetStream
 *   object store with replicas 3, so the store survives a node and every store worker shares it.
 *   An object's chunks are published before its meta, so a reader never sees half an object; the
 *   segment's public header fields (capture time, FINAL, kind) ride in the meta's description, so
 *   a worker indexes the bucket from one listing without reading the objects.
 */
import { constants } from 'node:fs';
import { lstat, open, readdir, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { headers, type NatsConnection } from '@nats-io/transport-node';
import { Objm, type ObjectStore } from '@nats-io/obj';
import { StorageType, jetstream, type JetStreamClient, type JetStreamManager } from '@nats-io/jetstream';
import { createHash } from 'node:crypto';
import type { SegmentHeader } from '../protocol/envelope.js';
import { readFileNoFollow, writeFileAtomic } from '../media/atomic-file.js';
import { ensurePrivateDir } from './data-dir.js';
import { NATS_STORE_BUCKET } from './nats-config.js';
import { retryUntil } from './nats-client.js';

export type Leaf = 'seg' | 'keys';

/** One file of the store: store/<account>/<camera>/<leaf>/<name>. */
export interface StoreRef {
  account: string;
  camera: string;
  leaf: Leaf;
  name: string;
}

/** A segment's public header fields (PROTOCOL.md §6.1) the index keeps. */
export interface SegmentMeta {
  captureTime: number;
  final: boolean;
  kind: SegmentHeader['kind'];
}

/** A file a listing found, with what the index needs. */
export interface ListedFile extends StoreRef {
  bytes: number;
  /** ms since the Unix epoch when it was written */
  storedAt: number;
  /** a segment's header fields when the backend keeps them beside the bytes; null: read the file's head */
  meta: SegmentMeta | null;
}

export interface OpenedFile {
  size: number;
  body(): Readable;
  close(): Promise<void>;
}

export interface StoreBackend {
  /** where the files are, for messages (never a path a client sees) */
  readonly where: string;
  write(ref: StoreRef, bytes: Uint8Array, meta: SegmentMeta | null): Promise<void>;
  /** the whole file, or null if it is not there (or is not a regular file) */
  read(ref: StoreRef): Promise<Uint8Array | null>;
  /** the first `n` bytes, or null */
  readHead(ref: StoreRef, n: number): Promise<Uint8Array | null>;
  open(ref: StoreRef): Promise<OpenedFile | null>;
  remove(ref: StoreRef): Promise<void>;
  cameras(account: string): Promise<string[]>;
  /** the files of the whole store, of one account, or of one camera, in one pass (a JetStream listing reads the whole bucket) */
  list(scope: { account?: string; camera?: string }): Promise<ListedFile[]>;
  /** every file, as a path or object name (audits such as "no plaintext at rest") */
  allFiles(): Promise<string[]>;
}

const LEAVES: readonly Leaf[] = ['seg', 'keys'];

const LEVEL_RE = /^[a-z0-9][a-z0-9_-]{0,63}$/;
/** a temporary file older than this is a crash's leftover; a newer one may be another worker's write in progress */
const STALE_TEMP_MS = 10 * 60_000;

export class FsBackend implements StoreBackend {
  private readonly checkedDirs = new Set<string>();
  constructor(readonly root: string) {}

  get where(): string {
    return this.root;
  }

  path(ref: StoreRef): string {
    return join(this.root, ref.account, ref.camera, ref.leaf, ref.name);
  }

  async write(ref: StoreRef, bytes: Uint8Array): Promise<void> {
    await writeFileAtomic(join(await this.cameraDir(ref.account, ref.camera, ref.leaf), ref.name), bytes, 0o600);
  }

  /** null only when the file is not there or is a symlink (never followed); a failing disk throws. */
  async read(ref: StoreRef): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFileNoFollow(this.path(ref)));
    } catch (err) {
      if (absent(err)) return null;
      throw err;
    }
  }

  async readHead(ref: StoreRef, n: number): Promise<Uint8Array | null> {
    const fh = await open(this.path(ref), constants.O_RDONLY | constants.O_NOFOLLOW).catch(() => null);
    if (!fh) return null;
    try {
      const head = new Uint8Array(n);
      const { bytesRead } = await fh.read(head, 0, n, 0);
      return head.subarray(0, bytesRead);
    } finally {
      await fh.close();
    }
  }

  async open(ref: StoreRef): Promise<OpenedFile | null> {
    let handle;
    try {
      handle = await open(this.path(ref), constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (err) {
      if (absent(err)) return null;
      throw err;
    }
    const st = await handle.stat();
    if (!st.isFile()) {
      await handle.close();
      return null;
    }
    return { size: st.size, body: () => handle.createReadStream({ start: 0, end: Math.max(0, st.size - 1), autoClose: false }), close: () => handle.close() };
  }

  async remove(ref: StoreRef): Promise<void> {
    await rm(this.path(ref), { force: true });
  }

  cameras(account: string): Promise<string[]> {
    return privateSubdirs(join(this.root, account));
  }

  async list(scope: { account?: string; camera?: string }): Promise<ListedFile[]> {
    const out: ListedFile[] = [];
    for (const account of scope.account !== undefined ? [scope.account] : await privateSubdirs(this.root)) {
      for (const camera of scope.camera !== undefined ? [scope.camera] : await privateSubdirs(join(this.root, account))) {
        for (const leaf of LEAVES) out.push(...(await this.listLeaf(account, camera, leaf)));
      }
    }
    return out;
  }

  private async listLeaf(account: string, camera: string, leaf: Leaf): Promise<ListedFile[]> {
    const dir = join(this.root, account, camera, leaf);
    let names;
    try {
      names = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return []; // nothing filed there yet
      throw err;
    }
    if (!this.checkedDirs.has(dir)) {
      await ensurePrivateDir(dir, `store/${account}/${camera}/${leaf}`);
      this.checkedDirs.add(dir);
    }
    const out: ListedFile[] = [];
    for (const e of names) {
      if (e.name.startsWith('.')) {
        const t = await lstat(join(dir, e.name)).catch(() => null);
        if (t && Date.now() - t.mtimeMs > STALE_TEMP_MS) await rm(join(dir, e.name), { force: true });
        continue; // a temporary file is never part of the index
      }
      if (!e.isFile()) continue; // symlinks and anything else are never read
      const st = await stat(join(dir, e.name)).catch(() => null);
      if (st) out.push({ account, camera, leaf, name: e.name, bytes: st.size, storedAt: st.mtimeMs, meta: null });
    }
    return out;
  }

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

  /** store/<a>/<c>/<leaf>, each level created 0700 and checked (never a symlink) once. */
  private async cameraDir(account: string, camera: string, leaf: Leaf): Promise<string> {
    const levels = [account, camera, leaf];
    let dir = this.root;
    for (let i = 0; i < levels.length; i++) {
      dir = join(dir, levels[i]!);
      if (this.checkedDirs.has(dir)) continue;
      await ensurePrivateDir(dir, `store/${levels.slice(0, i + 1).join('/')}`);
      this.checkedDirs.add(dir);
    }
    return dir;
  }
}

/** Not there, or a symlink where a file should be (O_NOFOLLOW: ELOOP). */
function absent(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ELOOP';
}

async function privateSubdirs(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await readdir(dir, { withFileTypes: true }).catch(() => [])) if (e.isDirectory() && LEVEL_RE.test(e.name)) out.push(e.name);
  return out;
}


export class JetStreamBackend implements StoreBackend {
  private constructor(
    private readonly os: ObjectStore,
    /** the same bucket through a JetStream context with a short request timeout, for listings (see open) */
    private readonly osRead: ObjectStore,
    private readonly js: JetStreamClient,
    private readonly jsm: JetStreamManager,
    private readonly bucket: string,
    readonly where: string,
  ) {}

  /** Open (or create) the bucket; a cluster that is still electing its JetStream leader is waited for up to `setupTimeoutMs`. */
  static async open(nc: NatsConnection, o: { replicas: number; bucket?: string; setupTimeoutMs?: number }): Promise<JetStreamBackend> {
    const bucket = o.bucket ?? NATS_STORE_BUCKET;
    return retryUntil(Date.now() + (o.setupTimeoutMs ?? 30_000), `nats: cannot open object store ${bucket}`, async () => {
      const os = await new Objm(nc).create(bucket, { replicas: o.replicas, storage: StorageType.File, description: 'sealcam opaque store: sealed envelopes and epoch announcements' });
      // The client reads an object and lists the bucket through a short-lived consumer. With a
      // node down, about one in three of those was never answered within the default 5 s (seen in
      // the node-kill test: reads took 5.5 or 11 s) while a new request was answered at once. So
      // objects are read with direct gets (any replica answers, no consumer: readObject), and
      // listings ask with 1.5 s and try again (retrying); writes keep the default.
      const short = jetstream(nc, { timeout: 1500 });
      const osRead = await new Objm(short).open(bucket);
      return new JetStreamBackend(os, osRead, jetstream(nc), await short.jetstreamManager(), bucket, `JetStream object store ${bucket}`);
    });
  }

  private static objectName(ref: StoreRef): string {
    return `${ref.account}/${ref.camera}/${ref.leaf}/${ref.name}`;
  }

  /**
   * Run a JetStream call, again for up to 20 s while it fails: right after a node dies, requests
   * time out until the stream has a new leader. Then E_BROKER (HTTP 503; an upload is not
   * acknowledged, so it is delivered again).
   */
  private retrying<T>(what: string, call: () => Promise<T>): Promise<T> {
    return retryUntil(Date.now() + 20_000, `${this.where}: ${what}`, call);
  }

  /**
   * Put an object once, however many workers put it at the same moment, and without deleting
   * anything. Two copies of one upload can reach two workers at once (a camera sends its
   * announcements again on every connect), and a put that timed out may have been stored. So:
   * - one with these bytes already there (by its SHA-256) is left as it is;
   * - otherwise the object is written in the object store's own format (chunks on
   *   `$O.<bucket>.C.<id>`, then its description on `$O.<bucket>.M.<name>`), with `<id>` derived
   *   from the name and the SHA-256, and every message carrying a message id: JetStream keeps the
   *   first of equal ids within its duplicate window (2 minutes), so concurrent puts of one object
   *   store one copy.
   * The client's own put cannot do this: of two concurrent puts, the second deletes the first's
   * chunks, and a failed one deletes its own. Deletes are what nats-server 2.9 loses on a restarted
   * node (docs/SCALING.md). Only a replacement (other bytes under a name: an announcement filed
   * again with other bytes) deletes, the chunks of what it replaced.
   */
  async write(ref: StoreRef, bytes: Uint8Array, meta: SegmentMeta | null): Promise<void> {
    const name = JetStreamBackend.objectName(ref);
    const sha = createHash('sha256').update(bytes).digest();
    const id = createHash('sha256').update(name).update('\0').update(sha).digest('base64url').slice(0, 22);
    await this.retrying(`put ${name}`, async () => {
      const old = await this.osRead.info(name);
      if (old && !old.deleted && old.size === bytes.length && sameDigest(old.digest, bytes)) return;
      const chunkSubject = `$O.${this.bucket}.C.${id}`;
      let chunks = 0;
      for (let at = 0; at < bytes.length; at += OBJECT_CHUNK_BYTES) {
        await this.js.publish(chunkSubject, bytes.subarray(at, at + OBJECT_CHUNK_BYTES), { msgID: `${id}.${chunks}` });
        chunks++;
      }
      const info = {
        name,
        description: meta ? JSON.stringify({ t: meta.captureTime, f: meta.final, k: meta.kind }) : '',
        options: { max_chunk_size: OBJECT_CHUNK_BYTES },
        bucket: this.bucket,
        nuid: id,
        size: bytes.length,
        chunks,
        mtime: new Date().toISOString(),
        digest: `SHA-256=${sha.toString('base64url')}=`,
        deleted: false,
      };
      const h = headers();
      h.set('Nats-Rollup', 'sub'); // the newest description of a name replaces the older ones
      // The description's subject names the object in padded base64url, as the client library does.
      const metaSubject = `$O.${this.bucket}.M.${Buffer.from(name).toString('base64').replaceAll('+', '-').replaceAll('/', '_')}`;
      const ack = await this.js.publish(metaSubject, JSON.stringify(info), { msgID: `${id}.m`, headers: h });
      if (ack.duplicate) {
        // Within the duplicate window, an equal put counts as done: check that it is really there
        // (not deleted since, by retention); if not, this put is tried again later as a new one.
        const now = await this.osRead.info(name);
        if (!now || now.deleted || !sameDigest(now.digest, bytes)) throw new Error(`${name}: an equal put within the duplicate window is not there; trying again`);
      }
      if (old && !old.deleted && old.nuid !== id) await this.jsm.streams.purge(`OBJ_${this.bucket}`, { filter: `$O.${this.bucket}.C.${old.nuid}` }).catch(() => undefined);
    });
  }

  async read(ref: StoreRef): Promise<Uint8Array | null> {
    const name = JetStreamBackend.objectName(ref);
    return this.retrying(`get ${name}`, () => this.readObject(name));
  }

  /** An object's bytes by direct gets of its chunks (the stream allows direct access), checked against its SHA-256. */
  private async readObject(name: string): Promise<Uint8Array | null> {
    const info = await this.osRead.info(name);
    if (!info || info.deleted) return null;
    const stream = `OBJ_${this.bucket}`;
    const subject = `$O.${this.bucket}.C.${info.nuid}`;
    const out = new Uint8Array(info.size);
    let at = 0;
    let seq = 0;
    for (let i = 0; i < info.chunks; i++) {
      const m = await this.jsm.direct.getMessage(stream, { seq: seq + 1, next_by_subj: subject });
      if (!m || at + m.data.length > out.length) throw new Error(`object ${name}: chunk ${i} of ${info.chunks} missing or too long`);
      out.set(m.data, at);
      at += m.data.length;
      seq = m.seq;
    }
    if (at !== out.length || !sameDigest(info.digest, out)) throw new Error(`object ${name}: ${at} of ${out.length} bytes, or its digest differs`);
    return out;
  }

  async readHead(ref: StoreRef): Promise<Uint8Array | null> {
    return this.read(ref); // objects are read whole (a segment's meta normally makes this unneeded)
  }

  /** Read whole, then served from memory: a 1080p segment is about 1 MB (§10 caps an envelope at 64 MiB). */
  async open(ref: StoreRef): Promise<OpenedFile | null> {
    const bytes = await this.read(ref);
    if (!bytes) return null;
    return { size: bytes.length, body: () => Readable.from([bytes]), close: async () => undefined };
  }

  async remove(ref: StoreRef): Promise<void> {
    const name = JetStreamBackend.objectName(ref);
    await this.retrying(`delete ${name}`, async () => {
      if (await this.os.info(name)) await this.os.delete(name); // already gone (another worker evicted it): nothing to do
    });
  }

  /** Every object the bucket holds, in one listing (a JetStream consumer), as store files where its name is one. */
  private async objects(): Promise<{ name: string; file: ListedFile | null }[]> {
    const infos = await this.retrying('list', () => this.osRead.list());
    return infos
      .filter((i) => !i.deleted)
      .map((i) => {
        const [account, camera, leaf, name, ...rest] = i.name.split('/');
        const valid = rest.length === 0 && name !== undefined && LEVEL_RE.test(account!) && LEVEL_RE.test(camera ?? '') && LEAVES.includes(leaf as Leaf);
        return { name: i.name, file: valid ? { account: account!, camera: camera!, leaf: leaf as Leaf, name: name!, bytes: i.size, storedAt: Date.parse(i.mtime), meta: parseMeta(i.description) } : null };
      });
  }

  async cameras(account: string): Promise<string[]> {
    return [...new Set((await this.list({ account })).map((f) => f.camera))];
  }

  async list(scope: { account?: string; camera?: string }): Promise<ListedFile[]> {
    return (await this.objects()).flatMap((o) => (o.file && (scope.account === undefined || o.file.account === scope.account) && (scope.camera === undefined || o.file.camera === scope.camera) ? [o.file] : []));
  }

  async allFiles(): Promise<string[]> {
    return (await this.objects()).map((o) => o.name);
  }
}

/** Whether an object store digest ("SHA-256=" and base64url, padded or not) is that of `bytes`. */
function sameDigest(digest: string, bytes: Uint8Array): boolean {
  return digest.replace(/=+$/, '') === `SHA-256=${createHash('sha256').update(bytes).digest('base64url')}`;
}

/** The object store's chunk size (the client's default, 128 KiB; nats-server's max_payload is 1 MiB). */
const OBJECT_CHUNK_BYTES = 128 * 1024;

function parseMeta(description: string | undefined): SegmentMeta | null {
  if (!description) return null;
  try {
    const m = JSON.parse(description) as { t: unknown; f: unknown; k: unknown };
    if (typeof m.t !== 'number' || typeof m.f !== 'boolean' || typeof m.k !== 'string') return null;
    return { captureTime: m.t, final: m.f, kind: m.k as SegmentHeader['kind'] };
  } catch {
    return null;
  }
}
