/**
 * Household (PROTOCOL.md §4, §5.5): add a viewer from the code their viewer shows (scanned with
 * this phone's camera, or pasted), list them, revoke one. Every change is a new roster, version + 1,
 * signed here and published retained on the camera's roster topic. The camera starts a new epoch
 * for it; this screen reads the camera's newest announcement (retained on its keys topic, signed by
 * the camera) and says whether the camera has taken the roster — or warns (E_ROSTER_LAGGING) that a
 * removed viewer may still be able to watch.
 */
import jsQRModule from 'jsqr';
import { CameraView, SealcamError, type AnnouncementInfo, cameraTopic, decodeViewerCode, equalBytes, fromHex, rosterLag, signRoster, toHex, type PublicIdentity } from '../../protocol/index.js';
import { explain } from '../explain.js';
import { store, type AppCamera } from '../store.js';
import { cameraPublic, h, problem, type App } from '../ui.js';

const LAG_WARNING_MS = 15_000;
// jsqr is CommonJS: typed (NodeNext) as a namespace with `.default`; esbuild's interop may hand over the function itself.
const jsQR = ((jsQRModule as unknown as { default?: unknown }).default ?? jsQRModule) as typeof jsQRModule.default;

export function householdScreen(app: App, cam: AppCamera, onLeave: (f: () => void) => void): HTMLElement {
  const list = h('ul', { class: 'viewers', testid: 'viewer-list' });
  const code = h('textarea', { testid: 'viewer-code', placeholder: 'SCV1:…', rows: 2 });
  const who = h('input', { testid: 'viewer-name', placeholder: 'Their name' });
  const message = h('p', { class: 'problem', testid: 'household-message' });
  const rosterState = h('p', { testid: 'roster-status', class: 'roster' }, 'Checking what the camera uses…');
  const scanArea = h('div', { class: 'scan' });
  const screen = h('section', { class: 'screen household' },
    h('h3', {}, 'Who can watch'), list, rosterState,
    h('h3', {}, 'Add someone'),
    h('p', {}, 'They open their sealcam viewer, which shows a code. Scan it, or paste it here.'),
    who, code,
    h('div', { class: 'row' }, h('button', { class: 'primary', testid: 'add-viewer', onclick: () => void add(code.value.trim()) }, 'Add'), h('button', { testid: 'scan-viewer', onclick: () => void scan() }, 'Scan their code')),
    scanArea, message);

  let current = cam;
  let newest: AnnouncementInfo | null = null;
  let changedAt = 0;

  const render = () => {
    list.replaceChildren(h('li', { testid: 'viewer-owner' }, h('strong', {}, 'You (owner)')));
    for (const v of current.viewers) {
      list.append(h('li', { testid: 'viewer-item', 'data-viewer': v.id }, h('span', {}, `${v.name} `, h('small', {}, v.id.slice(0, 8))), h('button', { class: 'small danger', testid: 'revoke-viewer', onclick: () => void revoke(v.id) }, 'Remove')));
    }
    paintRoster();
  };

  const paintRoster = () => {
    const expected = { rosterVersion: current.rosterVersion, viewerIds: [app.me!.id, ...current.viewers.map((v) => fromHex(v.id))] };
    if (!newest) {
      rosterState.textContent = 'The camera has not announced its keys yet (offline?).';
      rosterState.dataset.state = 'unknown';
      return;
    }
    const lag = rosterLag(newest, expected);
    if (lag === null) {
      rosterState.textContent = `The camera uses your viewer list (version ${current.rosterVersion}, key ${newest.epoch}): ${current.viewers.length + 1} can watch what it records from now on.`;
      rosterState.dataset.state = 'taken';
    } else if (Date.now() - changedAt < LAG_WARNING_MS) {
      rosterState.textContent = `Waiting for the camera to take viewer list version ${current.rosterVersion}…`;
      rosterState.dataset.state = 'waiting';
    } else {
      rosterState.textContent = `Warning: ${explain('E_ROSTER_LAGGING')}. The camera still uses version ${newest.rosterVersion}.`;
      rosterState.dataset.state = 'lagging';
    }
  };

  const publish = async (viewers: AppCamera['viewers']) => {
    const rosterVersion = current.rosterVersion + 1;
    const people: PublicIdentity[] = viewers.map((v) => cameraPublic(v));
    const roster = signRoster(app.me!, { cameraId: fromHex(cam.id, 16), rosterVersion, issuedAt: Date.now(), viewers: [app.me!.public, ...people] });
    const client = await app.mqtt();
    await client.publishAsync(cameraTopic(app.login!.account, cam.id, 'roster'), roster as Buffer, { qos: 1, retain: true });
    current = { ...current, rosterVersion, viewers };
    await store.saveCamera(current);
    await app.reload();
    changedAt = Date.now();
    render();
  };

  const add = async (text: string) => {
    message.textContent = '';
    try {
      const viewer = decodeViewerCode(text);
      const id = toHex(viewer.id);
      if (equalBytes(viewer.id, app.me!.id) || current.viewers.some((v) => v.id === id)) throw new SealcamError('E_BAD_ARGUMENT', 'already on the list');
      await publish([...current.viewers, { id, name: who.value.trim() || `viewer ${id.slice(0, 6)}`, signPublicKey: toHex(viewer.signPublicKey), boxPublicKey: toHex(viewer.boxPublicKey) }]);
      code.value = '';
      who.value = '';
    } catch (e) {
      message.textContent = SealcamError.is(e, 'E_BAD_ARGUMENT') ? 'That viewer is already on the list.' : problem(e);
    }
  };

  const revoke = async (id: string) => {
    message.textContent = '';
    try {
      await publish(current.viewers.filter((v) => v.id !== id));
    } catch (e) {
      message.textContent = problem(e);
    }
  };

  const scan = async () => {
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' } });
    } catch {
      message.textContent = 'This phone\'s camera is not available here: paste the code instead.';
      return;
    }
    const video = h('video', { playsinline: true, muted: true, testid: 'scan-video' });
    video.srcObject = stream;
    await video.play();
    scanArea.replaceChildren(video);
    const work = document.createElement('canvas');
    const stop = () => {
      stream.getTracks().forEach((t) => t.stop());
      scanArea.replaceChildren();
    };
    onLeave(stop);
    const look = () => {
      if (!stream.active) return;
      work.width = video.videoWidth;
      work.height = video.videoHeight;
      const ctx = work.getContext('2d', { willReadFrequently: true })!;
      ctx.drawImage(video, 0, 0);
      const found = work.width ? jsQR(ctx.getImageData(0, 0, work.width, work.height).data, work.width, work.height) : null;
      if (found?.data.startsWith('SCV1:')) {
        stop();
        code.value = found.data;
        void add(found.data);
      } else setTimeout(look, 200);
    };
    look();
  };

  void (async () => {
    render();
    const topic = cameraTopic(app.login!.account, cam.id, 'keys');
    const timer = setInterval(paintRoster, 1000);
    onLeave(() => clearInterval(timer));
    try {
      onLeave(await app.listen([topic], (_t, payload) => {
        if (payload.length === 0) return;
        try {
          // A fresh view each time: the announcement is signed by the pinned camera (§5.3).
          const info = new CameraView(cameraPublic(cam), app.me!).addAnnouncement(payload);
          if (!newest || info.epoch >= newest.epoch) newest = info;
          paintRoster();
        } catch (e) {
          if (!SealcamError.is(e)) throw e;
          message.textContent = explain(e.code);
        }
      }));
    } catch {
      rosterState.textContent = 'Offline: cannot check which viewer list the camera uses.';
    }
  })();
  return screen;
}
