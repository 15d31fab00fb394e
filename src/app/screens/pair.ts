/**
 * Add a camera (PROTOCOL.md §3.4), the same steps as `owner pair` (src/owner/pair.ts): a
 * provisioning token from the relay, the pairing code shown full-screen for the camera's lens, the
 * OwnerHandshake fed every message on the pairing topic (junk is ignored and counted), then the
 * camera pinned, the first roster signed and delivered, and the confirmation code shown to compare
 * with the camera's. If the person says the codes differ, the camera is forgotten again.
 */
import QRCode from 'qrcode';
import { OwnerHandshake, SealcamError, cameraTopic, createPairingOffer, encodeQrPayload, pairingId, pairingTopic, signRoster, systemRandom, toHex } from '../../protocol/index.js';
import { base64urlToBytes, fingerprintBytes } from '../relay-client.js';
import { store } from '../store.js';
import { h, problem, type App } from '../ui.js';

const TIMEOUT_MS = 5 * 60_000;

export function pairScreen(app: App, onLeave: (f: () => void) => void): HTMLElement {
  const name = h('input', { testid: 'pair-name', placeholder: 'Hall, garden, …', value: `camera ${app.cameras.length + 1}` });
  const message = h('p', { class: 'problem', testid: 'pair-message' });
  const screen = h('section', { class: 'screen' },
    h('h2', {}, 'Add a camera'),
    h('label', {}, 'Name', name),
    h('p', {}, 'Power the camera on. This phone will show a code: hold it 20–40 cm in front of the camera\'s lens until the phone shows a 6-digit number.'),
    h('button', { class: 'primary', testid: 'pair-start', onclick: () => void start(name.value.trim() || 'camera') }, 'Show the code'),
    message);

  const start = async (cameraName: string) => {
    if (!app.me || !app.login) return app.go('#/setup');
    let stopped = false;
    try {
      message.textContent = 'Asking the relay for a one-time camera token…';
      const relay = app.relay();
      const info = await relay.info();
      if (app.login.fingerprint && info.fingerprint !== app.login.fingerprint) throw new SealcamError('E_RELAY_PIN', 'the relay presents another key than the one pinned at login');
      const { token, expiresAt } = await relay.provisioningToken();
      const offer = createPairingOffer(
        {
          owner: app.me,
          relayUrl: app.login.httpUrl,
          account: app.login.account,
          provisionToken: base64urlToBytes(token),
          expiresAt: Math.min(expiresAt, Date.now() + TIMEOUT_MS),
          ...(app.login.fingerprint ? { relayFingerprint: fingerprintBytes(app.login.fingerprint) } : {}),
        },
        systemRandom,
      );
      const used = (await store.get<string[]>('pairings')) ?? [];
      const topic = pairingTopic(pairingId(offer.secret));
      const client = await app.mqtt();
      const handshake = new OwnerHandshake(offer, systemRandom);
      const run = handshake.run({ now: Date.now, publish: (m) => client.publishAsync(topic, m as Buffer, { qos: 1 }) });
      const unlisten = await app.listen([topic], (_t, payload) => run.deliver(payload));
      const timer = setTimeout(() => run.fail(new SealcamError('E_PAIRING_EXPIRED', 'no camera answered in time')), TIMEOUT_MS);
      const cleanup = () => {
        stopped = true;
        clearTimeout(timer);
        unlisten();
      };
      onLeave(cleanup);
      const text = encodeQrPayload(offer);
      const qr = h('canvas', { testid: 'pair-qr', class: 'qr' });
      await QRCode.toCanvas(qr, [{ data: text, mode: 'alphanumeric' }], { errorCorrectionLevel: 'M', margin: 4, scale: 8 });
      screen.replaceChildren(h('div', { class: 'qr-full' }, qr, h('p', { testid: 'pair-waiting' }, 'Waiting for the camera to read the code…')));
      const { camera, code } = await run.done;
      cleanup();
      const id = pairingId(offer.secret);
      if (used.includes(id)) throw new SealcamError('E_PAIRING_REUSED', 'this pairing code was already used');
      await store.put('pairings', [...used, id]);
      const roster = signRoster(app.me, { cameraId: camera.id, rosterVersion: 1, issuedAt: Date.now(), viewers: [app.me.public] });
      const camId = toHex(camera.id);
      await store.saveCamera({ name: cameraName, id: camId, signPublicKey: toHex(camera.signPublicKey), boxPublicKey: toHex(camera.boxPublicKey), rosterVersion: 1, viewers: [], pairedAt: Date.now() });
      await client.publishAsync(topic, handshake.sealRoster(roster) as Buffer, { qos: 1 });
      // Retained on the camera's roster topic too (§5.1): the camera finds it when it starts a run.
      await client.publishAsync(cameraTopic(app.login.account, camId, 'roster'), roster as Buffer, { qos: 1, retain: true });
      await app.reload();
      screen.replaceChildren(
        h('h2', {}, 'Compare the codes'),
        h('p', {}, 'The camera shows (or logs) a 6-digit code. It must be this one:'),
        h('p', { class: 'code', testid: 'confirm-code' }, code),
        h('button', { class: 'primary', testid: 'pair-same', onclick: () => app.go(`#/camera/${camId}/live`) }, 'Same code: watch'),
        h('button', { testid: 'pair-different', onclick: async () => {
          await store.put('cameras', (await store.cameras()).filter((c) => c.id !== camId));
          await app.reload();
          screen.replaceChildren(h('p', { class: 'problem' }, 'The camera was not added: someone else may have answered the code. Try again where nobody else can see the code.'));
        } }, 'The codes differ'));
    } catch (e) {
      if (stopped && !SealcamError.is(e)) return;
      message.textContent = problem(e);
      if (!screen.contains(message)) screen.replaceChildren(message, h('button', { onclick: () => app.go('#/pair') }, 'Try again'));
    }
  };
  return screen;
}
