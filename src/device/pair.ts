/**
 * The camera's side of pairing (PROTOCOL.md §3.4): read the owner's code through the lens (jsQR
 * on downscaled luma, several scans a second) or take it from --qr-image / --code; refuse an
 * expired or already-used code; trade the provisioning token for the camera's own relay login;
 * answer on the pairing topic with a commitment to its nonce; reveal the nonce once the owner's
 * arrives; wait for the owner's signed roster; pin the owner. Messages on the topic that do not
 * open under the pairing secret, or are not the kind expected next, are ignored and counted.
 */
import {
  CameraHandshake,
  SealcamError,
  assertOfferFresh,
  decodeQrPayload,
  pairingId,
  pairingTopic,
  systemRandom,
  type PairingOffer,
} from '../protocol/index.js';
import { QrScanner, scanQrPng } from '../media/qr.js';
import { connectMqtt } from '../media/mqtt.js';
import { relayFetch, relayJson } from '../media/relay-http.js';
import { fingerprintText } from '../media/pinned-tls.js';
import { z } from 'zod';
import type { CaptureSource } from '../media/source.js';
import type { DeviceHome } from './home.js';
import { provisionMessage } from '../protocol/provision.js';
import { toHex } from '../protocol/bytes.js';

export interface ScanStats {
  framesSeen: number;
  framesScanned: number;
}

/** Scan frames from `source` until a sealcam code is seen, at most `scansPerSecond`. */
export async function scanForCode(source: CaptureSource, o: { scansPerSecond?: number; timeoutMs?: number; stats?: ScanStats } = {}): Promise<string> {
  if (source.info.output !== 'raw') throw new SealcamError('E_CONFIG', 'this camera delivers H.264 only: pair it with --qr-image or --code');
  const scanner = new QrScanner(source.info.width, source.info.height);
  const every = Math.max(1, Math.round(source.info.fps / (o.scansPerSecond ?? 5)));
  const deadline = Date.now() + (o.timeoutMs ?? 5 * 60_000);
  const stats = o.stats ?? { framesSeen: 0, framesScanned: 0 };
  try {
    for await (const unit of source.units()) {
      if (Date.now() > deadline) break;
      if (unit.type !== 'raw' || stats.framesSeen++ % every !== 0) continue;
      stats.framesScanned++;
      const found = scanner.scan(unit.data);
      if (found?.text.startsWith('SC1:')) return found.text;
    }
  } finally {
    await source.close();
  }
  throw new SealcamError('E_PAIRING_EXPIRED', `no pairing code seen in ${stats.framesScanned} scans`);
}

/** A code from a PNG photo or screenshot of it. */
export async function codeFromImage(path: string): Promise<string> {
  const found = await scanQrPng(path);
  if (!found) throw new SealcamError('E_QR_FORMAT', `no QR code found in ${path}`);
  return found.text;
}

export interface DevicePairResult {
  offer: PairingOffer;
  code: string;
  account: string;
  /** messages on the pairing topic that were ignored */
  ignored: number;
}

export interface DevicePairOptions {
  timeoutMs?: number;
  now?: () => number;
  /** called for each message on the pairing topic that was ignored (junk, or not the step's kind) */
  onIgnored?: (e: SealcamError) => void;
}

/** The camera's own relay login, as the relay hands it out for a provisioning token. */
const ProvisionedLogin = z.object({ account: z.string().min(1), username: z.string().min(1), password: z.string().min(1), mqttUrl: z.string().min(1) });

export async function pairAsCamera(home: DeviceHome, codeText: string, o: DevicePairOptions = {}): Promise<DevicePairResult> {
  const now = o.now ?? Date.now;
  const offer = decodeQrPayload(codeText);
  assertOfferFresh(offer, now());
  const ledger = await home.ledger();
  ledger.check(offer);
  // Every wait ends by the deadline: the caller's timeout, or the code's expiry (the owner has
  // stopped waiting by then).
  const deadline = Math.min(now() + (o.timeoutMs ?? 60_000), offer.expiresAt);
  const left = () => Math.max(1, deadline - now());
  // The relay must present the key the owner's code names, before the token or anything else is sent.
  const fingerprint = offer.relayFingerprint ? fingerprintText(offer.relayFingerprint) : undefined;
  const res = await relayFetch(`${offer.relayUrl}/v1/provision`, {
    pin: fingerprint ?? null,
    method: 'POST',
    json: provisionBody(home, offer.provisionToken),
    timeoutMs: left(),
    onUnauthorized: 'ask the owner for a new code',
  });
  const login = await relayJson(res, ProvisionedLogin, 'POST /v1/provision');
  const relayLogin = { url: login.mqttUrl, account: login.account, username: login.username, password: login.password, ...(fingerprint ? { fingerprint } : {}) };
  await home.setRelay(relayLogin);
  const topic = pairingTopic(pairingId(offer.secret));
  const client = await connectMqtt(login.mqttUrl, relayLogin);
  const handshake = new CameraHandshake(offer, home.identity, systemRandom);
  const run = handshake.run({ now, publish: (m) => client.publishAsync(topic, Buffer.from(m), { qos: 1 }), ...(o.onIgnored ? { onIgnored: o.onIgnored } : {}) });
  client.on('message', (t, payload) => t === topic && run.deliver(new Uint8Array(payload)));
  const timer = setTimeout(() => run.fail(new SealcamError('E_PAIRING_EXPIRED', `no roster from the owner before the timeout (${handshake.ignored} invalid messages ignored)`)), o.timeoutMs ?? 60_000);
  try {
    await client.subscribeAsync(topic, { qos: 1 });
    await client.publishAsync(topic, Buffer.from(handshake.answer), { qos: 1 });
    const { rosterBytes, code } = await run.done;
    await home.pinOwner(offer.owner, rosterBytes);
    ledger.record(offer);
    await home.saveLedger(ledger);
    return { offer, code, account: login.account, ignored: handshake.ignored };
  } finally {
    clearTimeout(timer);
    await client.endAsync();
  }
}

/**
 * The body of POST /v1/provision (PROTOCOL.md §15.6): the token, and the camera's proof of its
 * key, a signature over the token and its id (protocol/provision.ts), so the token can make a
 * login only for this camera.
 */
export function provisionBody(home: DeviceHome, token: Uint8Array): Record<string, string> {
  const id = home.identity;
  const signature = id.signer.sign(provisionMessage(token, id.id));
  return { token: Buffer.from(token).toString('base64url'), cameraId: toHex(id.id), signPublicKey: toHex(id.signPublicKey), boxPublicKey: toHex(id.boxPublicKey), signature: toHex(signature) };
}
