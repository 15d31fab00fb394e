/**
 * The owner's side of pairing (PROTOCOL.md §3.4): ask the relay for a provisioning token, show
 * the code, wait on the pairing topic for the camera's answer, verify it, pin the camera, show
 * the confirmation code, deliver the first signed roster. Any answer that does not verify aborts
 * the pairing (fail closed): a relay that swaps the answer gets nothing paired.
 */
import {
  SealcamError,
  createPairingOffer,
  encodeQrPayload,
  openCameraAnswer,
  pairingId,
  pairingTopic,
  sealRosterDelivery,
  signRoster,
  systemRandom,
  type PublicIdentity,
} from '../protocol/index.js';
import { connectMqtt } from '../media/mqtt.js';
import type { OwnerHome } from './home.js';

export interface OwnerPairOptions {
  home: OwnerHome;
  /** the owner's name for the camera */
  name: string;
  /** called with the code text once it is ready to be shown (terminal, PNG, screen) */
  showCode: (text: string) => void | Promise<void>;
  timeoutMs?: number;
  now?: () => number;
}

export interface OwnerPairResult {
  camera: PublicIdentity;
  code: string;
  name: string;
}

export async function pairAsOwner(o: OwnerPairOptions): Promise<OwnerPairResult> {
  const now = o.now ?? Date.now;
  const login = await o.home.relay();
  const auth = { authorization: `Basic ${Buffer.from(`${login.username}:${login.password}`).toString('base64')}` };
  const tokenRes = await fetch(`${login.httpUrl}/v1/accounts/${login.account}/provisioning-tokens`, { method: 'POST', headers: auth });
  if (!tokenRes.ok) throw new SealcamError('E_AUTH', `relay refused a provisioning token: HTTP ${tokenRes.status}`);
  const { token, expiresAt } = (await tokenRes.json()) as { token: string; expiresAt: number };
  const info = (await (await fetch(`${login.httpUrl}/v1/info`)).json()) as { mqttUrl: string };
  const offer = createPairingOffer(
    { owner: o.home.identity, relayUrl: login.httpUrl, account: login.account, provisionToken: new Uint8Array(Buffer.from(token, 'base64url')), expiresAt: Math.min(expiresAt, now() + 10 * 60_000) },
    systemRandom,
  );
  const ledger = await o.home.ledger();
  const topic = pairingTopic(pairingId(offer.secret));
  const client = await connectMqtt(info.mqttUrl, login);
  try {
    await client.subscribeAsync(topic, { qos: 1 });
    await o.showCode(encodeQrPayload(offer));
    const answer = await new Promise<Uint8Array>((resolve, reject) => {
      const timer = setTimeout(() => reject(new SealcamError('E_PAIRING_EXPIRED', 'no answer from a camera before the timeout')), o.timeoutMs ?? 5 * 60_000);
      client.on('message', (t, payload) => {
        if (t !== topic || payload[5] !== 1) return; // our own roster delivery echoes back; answers are kind 1
        clearTimeout(timer);
        resolve(new Uint8Array(payload));
      });
    });
    ledger.check(offer);
    const { camera, code } = openCameraAnswer(answer, offer, now());
    ledger.record(offer);
    await o.home.saveLedger(ledger);
    const roster = signRoster(o.home.identity, { cameraId: camera.id, rosterVersion: 1, issuedAt: now(), viewers: [o.home.identity.public] });
    await o.home.pinCamera({ name: o.name, camera, rosterVersion: 1 });
    await client.publishAsync(topic, Buffer.from(sealRosterDelivery(offer, roster, systemRandom)), { qos: 1 });
    return { camera, code, name: o.name };
  } finally {
    await client.endAsync();
  }
}
