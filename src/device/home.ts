/**
 * The camera's home directory: its identity, its pairing, and the counters that must never go
 * backwards. Secrets are created on first boot (no default credentials) and stored with mode 0600
 * in a 0700 directory; every write is atomic (write, fsync, rename).
 *
 *   camera.key    {"v":1,"secret":"<hex of Ed25519 seed || X25519 secret>"}       0600
 *   owner.json    {"v":1,"signPublicKey":"…","boxPublicKey":"…"} the pinned owner   0600
 *   roster.bin    the owner-signed roster in force (PROTOCOL.md §4)                 0600
 *   state.json    {"v":1,"lastEpoch":N,"seqHighWater":N}                            0600
 *   relay.json    {"v":1,"url","account","username","password"} the camera's relay login  0600
 *   pairings.json {"v":1,"used":["<pairingId>", …]} pairing codes already used (kept by a reset)
 *
 * The seq high-water mark is persisted before each segment is sealed, so after a power cut the
 * camera resumes above every seq it may have sealed (PROTOCOL.md §6.2 relies on seq never
 * repeating under one key) and a viewer sees at most the in-flight segment missing.
 */
import { chmod, mkdir, readFile, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  Identity,
  PairingLedger,
  SealcamError,
  acceptRosterUpdate,
  fromHex,
  openRoster,
  publicIdentity,
  systemRandom,
  toHex,
  type PublicIdentity,
  type RandomSource,
  type Roster,
} from '../protocol/index.js';
import { writeFileAtomic } from '../media/atomic-file.js';

interface DeviceState {
  v: 1;
  lastEpoch: number;
  seqHighWater: number;
}

export interface Pairing {
  owner: PublicIdentity;
  roster: Roster;
  rosterBytes: Uint8Array;
}

export interface RelayLogin {
  /** mqtt(s)://host:port */
  url: string;
  account: string;
  username: string;
  password: string;
  /** the relay's key (`sha256/…`) from the owner's pairing code: the only key this camera trusts (§15.8) */
  fingerprint?: string;
}

export class DeviceHome {
  private constructor(
    readonly dir: string,
    readonly identity: Identity,
    private state: DeviceState,
  ) {}

  /** Open (creating on first boot) the home at `dir`. */
  static async open(dir: string, random: RandomSource = systemRandom): Promise<DeviceHome> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const keyPath = join(dir, 'camera.key');
    let identity: Identity;
    const existing = await readFile(keyPath, 'utf8').catch((e: NodeJS.ErrnoException) => {
      if (e.code === 'ENOENT') return null;
      throw e;
    });
    if (existing === null) {
      identity = Identity.generate(random);
      await writeFileAtomic(keyPath, `${JSON.stringify({ v: 1, secret: toHex(identity.exportSecret()) })}\n`, 0o600);
    } else {
      const mode = (await stat(keyPath)).mode & 0o777;
      if (mode & 0o077) throw new SealcamError('E_CONFIG', `${keyPath} is readable by others (mode ${mode.toString(8)}); fix with chmod 600`);
      identity = Identity.fromSecret(fromHex(parseJson<{ secret: string }>(existing, keyPath).secret, 64, 'camera.key secret'));
    }
    const statePath = join(dir, 'state.json');
    const stateText = await readFile(statePath, 'utf8').catch(() => null);
    const state: DeviceState = stateText ? parseJson<DeviceState>(stateText, statePath) : { v: 1, lastEpoch: 0, seqHighWater: 0 };
    if (state.v !== 1 || !Number.isSafeInteger(state.lastEpoch) || !Number.isSafeInteger(state.seqHighWater)) throw new SealcamError('E_CONFIG', `${statePath}: unknown or damaged state`);
    return new DeviceHome(dir, identity, state);
  }

  get lastEpoch(): number {
    return this.state.lastEpoch;
  }

  /** Persist that epochs up to `epoch` are used, before the epoch key is used. */
  async recordEpoch(epoch: number): Promise<void> {
    this.state = { ...this.state, lastEpoch: Math.max(this.state.lastEpoch, epoch) };
    await this.saveState();
  }

  /** The first seq this boot may use: one above every seq any earlier boot may have sealed. */
  get nextSeq(): number {
    return this.state.seqHighWater;
  }

  /**
   * Persist that `seq` is about to be sealed, before it is: after a power cut the camera resumes at
   * seq + 1, so at most the segment that was in flight is missing (PROTOCOL.md §6.2 relies on a
   * seq never repeating under one key). One small fsync'd write per segment.
   */
  async useSeq(seq: number): Promise<void> {
    if (seq < this.state.seqHighWater) throw new SealcamError('E_BAD_ARGUMENT', `seq ${seq} is below the high-water mark ${this.state.seqHighWater}`);
    this.state = { ...this.state, seqHighWater: seq + 1 };
    await this.saveState();
  }

  /** Record the owner and the first roster, as pairing does. */
  async pinOwner(owner: PublicIdentity, rosterBytes: Uint8Array): Promise<void> {
    const roster = openRoster(rosterBytes, owner.signPublicKey);
    if (toHex(roster.cameraId) !== this.identity.idHex) throw new SealcamError('E_FOREIGN_CAMERA', 'roster is for another camera');
    await writeFileAtomic(join(this.dir, 'owner.json'), `${JSON.stringify({ v: 1, signPublicKey: toHex(owner.signPublicKey), boxPublicKey: toHex(owner.boxPublicKey) })}\n`);
    await writeFileAtomic(join(this.dir, 'roster.bin'), rosterBytes);
  }

  /** Accept a newer owner-signed roster (PROTOCOL.md §4.4). */
  async updateRoster(rosterBytes: Uint8Array): Promise<Roster> {
    const pairing = await this.pairing();
    const roster = acceptRosterUpdate(rosterBytes, { ownerSignPublicKey: pairing.owner.signPublicKey, cameraId: this.identity.id, currentVersion: pairing.roster.rosterVersion });
    await writeFileAtomic(join(this.dir, 'roster.bin'), rosterBytes);
    return roster;
  }

  /** The pinned owner and roster; E_NOT_PAIRED if this camera has not been paired. */
  async pairing(): Promise<Pairing> {
    const ownerPath = join(this.dir, 'owner.json');
    const ownerText = await readFile(ownerPath, 'utf8').catch(() => null);
    const rosterBytes = await readFile(join(this.dir, 'roster.bin')).catch(() => null);
    if (ownerText === null || rosterBytes === null) {
      throw new SealcamError('E_NOT_PAIRED', `camera ${this.identity.idHex} in ${this.dir} has no owner yet: pair it before streaming (nothing is ever sent unsealed)`);
    }
    const o = parseJson<{ signPublicKey: string; boxPublicKey: string }>(ownerText, ownerPath);
    const owner = publicIdentity(fromHex(o.signPublicKey, 32, 'owner signPublicKey'), fromHex(o.boxPublicKey, 32, 'owner boxPublicKey'));
    const bytes = new Uint8Array(rosterBytes);
    return { owner, roster: openRoster(bytes, owner.signPublicKey), rosterBytes: bytes };
  }

  /** Pairing codes this camera has used; each may pair only once (PROTOCOL.md §3.4). */
  async ledger(): Promise<PairingLedger> {
    const path = join(this.dir, 'pairings.json');
    const text = await readFile(path, 'utf8').catch(() => null);
    return new PairingLedger(text === null ? [] : parseJson<{ used: string[] }>(text, path).used);
  }

  async saveLedger(ledger: PairingLedger): Promise<void> {
    await writeFileAtomic(join(this.dir, 'pairings.json'), `${JSON.stringify({ v: 1, used: [...ledger.ids] })}\n`, 0o600);
  }

  /** Record the camera's own relay login (from the provisioning token at pairing). */
  async setRelay(relay: RelayLogin): Promise<void> {
    await writeFileAtomic(join(this.dir, 'relay.json'), `${JSON.stringify({ v: 1, ...relay })}\n`, 0o600);
  }

  /** The camera's relay login, or null if it has none yet. */
  async relay(): Promise<RelayLogin | null> {
    const path = join(this.dir, 'relay.json');
    const text = await readFile(path, 'utf8').catch(() => null);
    if (text === null) return null;
    const r = parseJson<RelayLogin & { v: number }>(text, path);
    if (r.v !== 1 || typeof r.url !== 'string' || typeof r.username !== 'string' || typeof r.password !== 'string' || typeof r.account !== 'string') {
      throw new SealcamError('E_CONFIG', `${path}: damaged relay login`);
    }
    if (r.fingerprint !== undefined && !/^sha256\/[A-Za-z0-9_-]{43}$/.test(r.fingerprint)) throw new SealcamError('E_CONFIG', `${path}: damaged relay fingerprint`);
    return { url: r.url, account: r.account, username: r.username, password: r.password, ...(r.fingerprint ? { fingerprint: r.fingerprint } : {}) };
  }

  /**
   * Factory reset: erase the camera's keys, its owner, roster, relay login and counters. The list
   * of pairing codes already used is kept (it holds no secret), so an old code still fails.
   * A new identity is made on the next open.
   */
  async erase(): Promise<void> {
    for (const f of ['camera.key', 'owner.json', 'roster.bin', 'state.json', 'relay.json']) await rm(join(this.dir, f), { force: true });
  }

  private async saveState(): Promise<void> {
    await writeFileAtomic(join(this.dir, 'state.json'), `${JSON.stringify(this.state)}\n`);
  }
}

function parseJson<T>(text: string, path: string): T {
  try {
    return JSON.parse(text) as T;
  } catch {
    throw new SealcamError('E_CONFIG', `${path}: damaged (not JSON)`);
  }
}
