/** The pairing vectors (test/vectors/pairing.json, PROTOCOL.md §3) against this implementation. */
import test from 'ava';
import { readFileSync } from 'node:fs';
import {
  assertOfferFresh,
  confirmationCode,
  decodeQrPayload,
  fromHex,
  openCameraAnswer,
  openCameraReveal,
  openOwnerNonce,
  openRoster,
  openRosterDelivery,
  pairingCommitment,
  pairingId,
  publicIdentity,
  toHex,
  type CameraAnswer,
  type PairingOffer,
} from '../src/protocol/index.js';
import { codeOf } from './helpers/codes.js';

interface PairStep {
  type: 'qr' | 'answer' | 'reveal' | 'ownerNonce' | 'roster';
  data: string;
}
const P = JSON.parse(readFileSync(new URL('./vectors/pairing.json', import.meta.url), 'utf8')) as {
  qr: string;
  now: number;
  camera: { signPublicKey: string; boxPublicKey: string; id: string };
  offer: { version: number; ownerSignPublic: string; ownerBoxPublic: string; secret: string; expiresAt: number; provisionToken: string; account: string; relayUrl: string; relayFingerprint: string };
  derived: { pairingId: string; pairingKey: string; cameraNonce: string; ownerNonce: string; commitment: string; confirmationCode: string };
  messages: { answer: string; ownerNonce: string; reveal: string; roster: string; rosterBody: string };
  invalid: { name: string; now: number; steps: PairStep[]; error: string }[];
};

test('the pairing code decodes to the offer, and the derived values match', (t) => {
  const offer = decodeQrPayload(P.qr);
  t.deepEqual(
    {
      ownerSignPublic: toHex(offer.owner.signPublicKey),
      ownerBoxPublic: toHex(offer.owner.boxPublicKey),
      secret: toHex(offer.secret),
      expiresAt: offer.expiresAt,
      provisionToken: toHex(offer.provisionToken),
      account: offer.account,
      relayUrl: offer.relayUrl,
      relayFingerprint: toHex(offer.relayFingerprint!),
    },
    (({ version, ...rest }) => rest)(P.offer),
  );
  t.is(pairingId(offer.secret), P.derived.pairingId);
  const camera = publicIdentity(fromHex(P.camera.signPublicKey), fromHex(P.camera.boxPublicKey));
  t.is(toHex(pairingCommitment(offer, camera, fromHex(P.derived.cameraNonce))), P.derived.commitment);
  t.is(confirmationCode(offer, camera, fromHex(P.derived.ownerNonce), fromHex(P.derived.cameraNonce)), P.derived.confirmationCode);
});

test('the handshake messages open in order on each side to the same values', (t) => {
  const offer = decodeQrPayload(P.qr);
  const answer = openCameraAnswer(fromHex(P.messages.answer), offer, P.now);
  t.is(toHex(answer.camera.id), P.camera.id);
  t.is(toHex(answer.commitment), P.derived.commitment);
  t.is(toHex(openOwnerNonce(fromHex(P.messages.ownerNonce), offer)), P.derived.ownerNonce);
  t.is(toHex(openCameraReveal(fromHex(P.messages.reveal), offer, answer)), P.derived.cameraNonce);
  const roster = openRosterDelivery(fromHex(P.messages.roster), offer);
  t.is(toHex(roster), P.messages.rosterBody);
  t.is(toHex(openRoster(roster, offer.owner.signPublicKey).cameraId), P.camera.id);
});

/** Runs a case's steps as the owner (qr, answer, reveal) or the camera (ownerNonce, roster). */
function feed(state: { offer: PairingOffer; answer: CameraAnswer | null; now: number }, step: PairStep): void {
  if (step.type === 'qr') {
    const offer = decodeQrPayload(step.data);
    assertOfferFresh(offer, state.now);
    return;
  }
  const b = fromHex(step.data);
  if (step.type === 'answer') state.answer = openCameraAnswer(b, state.offer, state.now);
  else if (step.type === 'reveal') openCameraReveal(b, state.offer, state.answer!);
  else if (step.type === 'ownerNonce') openOwnerNonce(b, state.offer);
  else openRoster(openRosterDelivery(b, state.offer), state.offer.owner.signPublicKey);
}

for (const c of P.invalid) {
  test(`pairing invalid: ${c.name} -> ${c.error}`, (t) => {
    const state = { offer: decodeQrPayload(P.qr), answer: null, now: c.now };
    c.steps.slice(0, -1).forEach((s) => feed(state, s));
    t.is(codeOf(() => feed(state, c.steps.at(-1)!)), c.error as never);
  });
}
