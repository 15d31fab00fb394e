/**
 * The owner's side of pairing (PROTOCOL.md §3.4): ask the relay for a provisioning token, show
 * the code, wait on the pairing topic for the camera's answer and its commitment, send the owner's
 * nonce, check the camera's reveal against the commitment, pin the camera, show the confirmation
 * code, deliver the first signed roster. Messages that do not open under the pairing secret (junk
 * from any login that knows the topic, a relay's forged answer) are ignored and counted until a
 * valid one arrives or the timeout passes; nothing is paired from them.
 */
import {
  SealcamError,
  OwnerHandshake,
  cameraTopic,
  createPairingOffer,
  encodeQrPayload,
  pairingId,
  pairingTopic,
  signRoster,
  systemRandom,
  toHex,
  type PublicIdentity,
} from '../protocol/index.js';
import { connectMqtt } from '../media/mqtt.js';
import { fingerprintBytes } from '../media/pinned-tls.js';
import { issueProvisioningToken, relayInfo } from './relay-api.js';
import type { OwnerHome } from './home.js';

export interface OwnerPairOptions {
  home: OwnerHome;
  /** the owner's name for the camera */
  name: string;
  /** called with the code text once it is ready to be shown (terminal, PNG, screen) */
  showCode: (text: string) => void | Promise<void>;
  timeoutMs?: number;
  now?: () => number;
  /** called for each message on the pairing topic that was ignored (junk, or not the step's kind) */
  onIgnored?: (e: SealcamError) => void;
}

export interface OwnerPairResult {
  camera: PublicIdentity;
  code: string;
  name: string;
  /** messages on the pairing topic that were ignored */
  ignored: number;
}

export async function pairAsOwner(o: OwnerPairOptions): Promise<OwnerPairResult> {
  const now = o.now ?? Date.now;
  const login = await o.home.relay();
  const timeoutMs = o.timeoutMs ?? 5 * 60_000;
  const deadline = now() + timeoutMs;
  const { token, expiresAt } = await issueProvisioningToken(login, timeoutMs);
  const info = await relayInfo(login, Math.max(1, deadline - now()));
  // The code expires when this side stops waiting: a camera that reads it later refuses it before
  // it redeems the token, so no camera login is made for a pairing nobody completes (§3.4).
  const offer = createPairingOffer(
    {
      owner: o.home.identity,
      relayUrl: login.httpUrl,
      account: login.account,
      provisionToken: new Uint8Array(Buffer.from(token, 'base64url')),
      expiresAt: Math.min(expiresAt, deadline),
      // The camera trusts exactly the relay key the owner pinned at login (§15.8).
      ...(login.fingerprint ? { relayFingerprint: fingerprintBytes(login.fingerprint) } : {}),
    },
    systemRandom,
  );
  const ledger = await o.home.ledger();
  const topic = pairingTopic(pairingId(offer.secret));
  const client = await connectMqtt(info.mqttUrl, login);
  const handshake = new OwnerHandshake(offer, systemRandom);
  const run = handshake.run({ now, publish: (m) => client.publishAsync(topic, Buffer.from(m), { qos: 1 }), ...(o.onIgnored ? { onIgnored: o.onIgnored } : {}) });
  client.on('message', (t, payload) => t === topic && run.deliver(new Uint8Array(payload)));
  let timer: NodeJS.Timeout | undefined;
  try {
    await client.subscribeAsync(topic, { qos: 1 });
    await o.showCode(encodeQrPayload(offer));
    timer = setTimeout(() => run.fail(new SealcamError('E_PAIRING_EXPIRED', `no camera completed the pairing before the timeout (${handshake.ignored} invalid messages ignored)`)), o.timeoutMs ?? 5 * 60_000);
    const { camera, code } = await run.done;
    ledger.check(offer);
    ledger.record(offer);
    await o.home.saveLedger(ledger);
    const roster = signRoster(o.home.identity, { cameraId: camera.id, rosterVersion: 1, issuedAt: now(), viewers: [o.home.identity.public] });
    await o.home.pinCamera({ name: o.name, camera, rosterVersion: 1 });
    await client.publishAsync(topic, Buffer.from(handshake.sealRoster(roster)), { qos: 1 });
    // Retained on the camera's roster topic too: a camera waits for the newest retained roster
    // before it seals a run (PROTOCOL.md §5.1), and finds this one at once.
    await client.publishAsync(cameraTopic(login.account, toHex(camera.id), 'roster'), Buffer.from(roster), { qos: 1, retain: true });
    return { camera, code, name: o.name, ignored: handshake.ignored };
  } finally {
    clearTimeout(timer);
    await client.endAsync();
  }
}
