/**
 * The owner's home directory: the viewer identity, the relay login, the cameras it has paired,
 * and the pairing codes it has used. Secrets are created on `owner init` (no defaults), stored
 * with mode 0600 in a 0700 directory, written atomically.
 *
 *   owner.key      {"v":1,"secret":"<hex>"}                                   0600
 *   relay.json     {"v":1,"httpUrl","account","username","password"}          0600
 *   cameras.json   {"v":1,"cameras":{"<name>":{"signPublicKey","boxPublicKey","rosterVersion"}}}
 *   pairings.json  {"v":1,"used":["<pairingId>", …]}
 *   streams/<cameraIdHex>.json   the live view's stream state (PROTOCOL.md §8.5)               0600
 *   seen/<cameraIdHex>.json      {"v":1,"highestSeq":N} the newest seq a history fetch opened   0600
 */
import { chmod, mkdir, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Identity, PairingLedger, SealcamError, fromHex, publicIdentity, systemRandom, toHex, type ExpectedRoster, type PublicIdentity, type StreamSnapshot } from '../protocol/index.js';
import { readJson, writeFileAtomic } from '../media/atomic-file.js';
import type { RelayLogin } from './history.js';

export interface PinnedCamera {
  name: string;
  camera: PublicIdentity;
  rosterVersion: number;
  /** household viewers on the roster besides the owner */
  viewers?: PublicIdentity[];
}

type StoredCamera = { signPublicKey: string; boxPublicKey: string; rosterVersion: number; viewers?: { signPublicKey: string; boxPublicKey: string }[] };
const keysOf = (p: PublicIdentity) => ({ signPublicKey: toHex(p.signPublicKey), boxPublicKey: toHex(p.boxPublicKey) });
const identityOf = (k: { signPublicKey: string; boxPublicKey: string }) => publicIdentity(fromHex(k.signPublicKey, 32), fromHex(k.boxPublicKey, 32));

export class OwnerHome {
  private constructor(
    readonly dir: string,
    readonly identity: Identity,
  ) {}

  /** Create a new owner identity (or take `identity`, restored from a backup); refuses to overwrite one. */
  static async init(dir: string, identity: Identity = Identity.generate(systemRandom)): Promise<OwnerHome> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await chmod(dir, 0o700);
    const keyPath = join(dir, 'owner.key');
    if (await stat(keyPath).catch(() => null)) throw new SealcamError('E_CONFIG', `${keyPath} exists: this home already has an owner identity`);
    await writeFileAtomic(keyPath, `${JSON.stringify({ v: 1, secret: toHex(identity.exportSecret()) })}\n`, 0o600);
    return new OwnerHome(dir, identity);
  }

  static async open(dir: string): Promise<OwnerHome> {
    const keyPath = join(dir, 'owner.key');
    const key = await readJson<{ secret: string }>(keyPath);
    if (!key) throw new SealcamError('E_CONFIG', `no owner identity in ${dir}: run sealcam owner init --home ${dir}`);
    const mode = (await stat(keyPath)).mode & 0o777;
    if (mode & 0o077) throw new SealcamError('E_CONFIG', `${keyPath} is readable by others (mode ${mode.toString(8)}); fix with chmod 600`);
    return new OwnerHome(dir, Identity.fromSecret(fromHex(key.secret, 64, 'owner.key secret')));
  }

  async setRelay(login: RelayLogin): Promise<void> {
    await writeFileAtomic(join(this.dir, 'relay.json'), `${JSON.stringify({ v: 1, ...login })}\n`, 0o600);
  }

  async relay(): Promise<RelayLogin> {
    const path = join(this.dir, 'relay.json');
    const r = await readJson<RelayLogin>(path);
    if (!r) throw new SealcamError('E_CONFIG', `no relay login in ${this.dir}: run sealcam owner login`);
    if ([r.httpUrl, r.account, r.username, r.password].some((f) => typeof f !== 'string' || !f)) throw new SealcamError('E_CONFIG', `${path} is damaged (a field is missing): run sealcam owner login again`);
    if (r.fingerprint !== undefined && !/^sha256\/[A-Za-z0-9_-]{43}$/.test(r.fingerprint)) throw new SealcamError('E_CONFIG', `${path} is damaged (its relay fingerprint): run sealcam owner login again`);
    return { httpUrl: r.httpUrl, account: r.account, username: r.username, password: r.password, ...(r.fingerprint ? { fingerprint: r.fingerprint } : {}) };
  }

  async cameras(): Promise<PinnedCamera[]> {
    const c = await readJson<{ cameras: Record<string, StoredCamera> }>(join(this.dir, 'cameras.json'));
    return Object.entries(c?.cameras ?? {}).map(([name, v]) => ({ name, camera: identityOf(v), rosterVersion: v.rosterVersion, viewers: (v.viewers ?? []).map(identityOf) }));
  }

  async camera(name: string): Promise<PinnedCamera> {
    const found = (await this.cameras()).find((c) => c.name === name);
    if (!found) throw new SealcamError('E_CONFIG', `no paired camera named ${JSON.stringify(name)}`);
    return found;
  }

  async pinCamera(p: PinnedCamera): Promise<void> {
    const all = Object.fromEntries((await this.cameras()).filter((c) => c.name !== p.name).map((c) => [c.name, c]));
    all[p.name] = p;
    const out = Object.fromEntries(Object.entries(all).map(([name, c]) => [name, { ...keysOf(c.camera), rosterVersion: c.rosterVersion, viewers: (c.viewers ?? []).map(keysOf) } satisfies StoredCamera]));
    await writeFileAtomic(join(this.dir, 'cameras.json'), `${JSON.stringify({ v: 1, cameras: out }, null, 1)}\n`, 0o600);
  }

  /**
   * The stream state a live view left for this camera (§8.5), so replay detection survives
   * restarts; its highestSeq is also the newest segment this viewer knows exists, which a history
   * fetch must reach (a relay that hides the tail is reported, §8.4).
   */
  async streamState(cameraIdHex: string): Promise<StreamSnapshot | null> {
    return readJson<StreamSnapshot>(this.cameraFile('streams', cameraIdHex));
  }

  async saveStreamState(cameraIdHex: string, snapshot: StreamSnapshot): Promise<void> {
    await this.writeCameraFile('streams', cameraIdHex, snapshot);
  }

  /** The newest seq this viewer knows the camera has sealed (live or history): a history must reach it. */
  async knownHighestSeq(cameraIdHex: string): Promise<number | null> {
    const seen = (await readJson<{ highestSeq: number | null }>(this.cameraFile('seen', cameraIdHex)))?.highestSeq ?? null;
    const live = (await this.streamState(cameraIdHex))?.highestSeq ?? null;
    const known = [seen, live].filter((n): n is number => n !== null);
    return known.length ? Math.max(...known) : null;
  }

  async rememberSeq(cameraIdHex: string, seq: number): Promise<void> {
    const known = await this.knownHighestSeq(cameraIdHex);
    if (known === null || seq > known) await this.writeCameraFile('seen', cameraIdHex, { v: 1, highestSeq: seq });
  }

  private cameraFile(dir: 'streams' | 'seen', cameraIdHex: string): string {
    return join(this.dir, dir, `${cameraIdHex}.json`);
  }

  private async writeCameraFile(dir: 'streams' | 'seen', cameraIdHex: string, value: unknown): Promise<void> {
    await mkdir(join(this.dir, dir), { recursive: true, mode: 0o700 });
    await writeFileAtomic(this.cameraFile(dir, cameraIdHex), `${JSON.stringify(value)}\n`, 0o600);
  }

  /** What the owner last signed for this camera: announcements are checked against it (§5.5). */
  expectedRoster(cam: PinnedCamera): ExpectedRoster {
    return { rosterVersion: cam.rosterVersion, viewerIds: [this.identity.id, ...(cam.viewers ?? []).map((v) => v.id)] };
  }

  async ledger(): Promise<PairingLedger> {
    return new PairingLedger((await readJson<{ used: string[] }>(join(this.dir, 'pairings.json')))?.used ?? []);
  }

  async saveLedger(ledger: PairingLedger): Promise<void> {
    await writeFileAtomic(join(this.dir, 'pairings.json'), `${JSON.stringify({ v: 1, used: [...ledger.ids] })}\n`, 0o600);
  }
}
