/** Paired camera homes for tests: offline (pairedDevice), or through a running embedded relay (pairedOverRelay). */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Identity, Viewer, publicIdentity, signRoster, systemRandom } from '../../src/protocol/index.js';
import { DeviceHome } from '../../src/device/home.js';
import { pairAsCamera } from '../../src/device/pair.js';
import { OwnerHome } from '../../src/owner/home.js';
import { pairAsOwner } from '../../src/owner/pair.js';
import type { Relay, RelayOptions } from '../../src/relay/relay.js';
import { relayTls } from '../../src/relay/tls.js';
import { loadBoard } from '../../src/device/board.js';
import { runAgent, type AgentOptions, type AgentResult } from '../../src/device/agent.js';
import { MqttUploader } from '../../src/device/uploader.js';
import { Spool } from '../../src/device/spool.js';
import { embeddedRelay, tempDir } from './relay.js';

export async function pairedDevice(label: string): Promise<{ dir: string; home: DeviceHome; owner: Identity; viewer: Viewer }> {
  const dir = await mkdtemp(join(tmpdir(), `sealcam-${label}-`));
  const home = await DeviceHome.open(join(dir, 'home'));
  const owner = Identity.generate(systemRandom);
  const roster = signRoster(owner, { cameraId: home.identity.id, rosterVersion: 1, issuedAt: Date.now(), viewers: [owner.public] });
  await home.pinOwner(owner.public, roster);
  const viewer = new Viewer(owner);
  viewer.pin(publicIdentity(home.identity.signPublicKey, home.identity.boxPublicKey));
  return { dir, home, owner, viewer };
}

export interface PairedOverRelay {
  dir: string;
  relay: Relay;
  owner: OwnerHome;
  camera: DeviceHome;
  login: { account: string; username: string; password: string };
  /** the pairing code the owner showed (used: a second pairing with it is refused) */
  code: string;
}

/**
 * An embedded relay with account `home`, its owner logged in, and a camera paired as `name` through
 * the relay (PROTOCOL.md §3); with `tls`, over TLS with the relay's key pinned (§15.8). Close `relay` when done.
 */
export async function pairedOverRelay(label: string, name: string, o: { tls?: boolean; relay?: Partial<RelayOptions> } = {}): Promise<PairedOverRelay> {
  const dir = await tempDir(label);
  const relayDir = join(dir, 'relay');
  // With tls: the relay's self-signed certificate, and the owner pins its key as `owner login` does.
  const tls = o.tls ? await relayTls({ dataDir: relayDir, hosts: ['127.0.0.1'] }) : null;
  const relay = await embeddedRelay(relayDir, { tls, ...o.relay });
  const login = await relay.accounts.addAccount('home');
  const owner = await OwnerHome.init(join(dir, 'owner'));
  await owner.setRelay({ httpUrl: relay.httpUrl, ...login, ...(tls ? { fingerprint: tls.fingerprint } : {}) });
  const camera = await DeviceHome.open(join(dir, 'camera'));
  let shown!: (text: string) => void;
  const code = new Promise<string>((r) => (shown = r));
  const ownerSide = pairAsOwner({ home: owner, name, showCode: (text) => shown(text) });
  const text = await code;
  await pairAsCamera(camera, text);
  await ownerSide;
  return { dir, relay, owner, camera, login, code: text };
}

/**
 * The paired camera streams `seconds` of small sim video (640x360, 1 s segments) through its spool
 * and the relay, as fast as it encodes; resolves once everything is uploaded.
 */
export async function streamPaired(p: PairedOverRelay, seconds: number, extra: Partial<AgentOptions> = {}): Promise<AgentResult> {
  const login = (await p.camera.relay())!;
  const up = new MqttUploader({ ...login, cameraId: p.camera.identity.idHex, spool: await Spool.open(join(p.dir, 'spool'), 64 << 20) });
  await up.start();
  try {
    const result = await runAgent({ board: await loadBoard('sim'), home: p.camera, sink: up, seconds, video: { width: 640, height: 360, bitrate: 600_000, segmentSeconds: 1 }, ...extra });
    await up.flush(20_000);
    return result;
  } finally {
    await up.close();
  }
}
