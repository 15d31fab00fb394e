/**
 * The camera list: the cameras paired on this phone (never the relay's list of the account: a
 * camera the relay misroutes here is not one of them), each with the state its own retained
 * status topic reports. A status message is shown only when it names the camera whose topic it
 * came on; a foreign camera's status never shows as one of yours. The status is not signed: it is
 * a hint about connectivity, and the live view's signed video is what proves a camera is up.
 */
import { cameraTopic } from '../../protocol/index.js';
import { h, type App } from '../ui.js';
import type { AppCamera } from '../store.js';

interface Status {
  state: string;
  at: string;
  spoolEntries: number | null;
}

function readStatus(cam: AppCamera, payload: Uint8Array): Status | null {
  try {
    const s = JSON.parse(new TextDecoder().decode(payload)) as { state?: unknown; cameraId?: unknown; at?: unknown; spool?: { entries?: unknown } };
    if (s.cameraId !== cam.id || (s.state !== 'online' && s.state !== 'offline')) return null;
    return { state: s.state, at: typeof s.at === 'string' ? s.at : '', spoolEntries: typeof s.spool?.entries === 'number' ? s.spool.entries : null };
  } catch {
    return null;
  }
}

const ago = (iso: string) => {
  const t = Date.parse(iso);
  if (!Number.isFinite(t)) return '';
  const s = Math.max(0, Math.round((Date.now() - t) / 1000));
  return s < 90 ? `${s} s ago` : s < 5400 ? `${Math.round(s / 60)} min ago` : new Date(t).toLocaleString();
};

export function camerasScreen(app: App, onLeave: (f: () => void) => void): HTMLElement {
  const banner = h('p', { class: 'banner', testid: 'connection' });
  const list = h('ul', { class: 'cameras', testid: 'camera-list' });
  const statusEls = new Map<string, HTMLElement>();
  for (const cam of app.cameras) {
    const status = h('span', { class: 'status unknown', testid: 'camera-status' }, 'status unknown');
    statusEls.set(cam.id, status);
    list.append(h('li', { testid: 'camera-item', 'data-camera': cam.id, onclick: () => app.go(`#/camera/${cam.id}/live`) }, h('strong', { class: 'name' }, cam.name), status));
  }
  const screen = h('section', { class: 'screen' },
    banner,
    app.cameras.length ? list : h('div', {}, list, h('p', {}, 'No camera yet. Add one: this phone shows a code, and you hold it in front of the camera.')),
    h('button', { class: 'primary', testid: 'add-camera', onclick: () => app.go('#/pair') }, 'Add a camera'));
  if (!app.cameras.length) return screen;
  banner.textContent = 'Connecting to the relay…';
  const topics = new Map(app.cameras.map((c) => [cameraTopic(app.login!.account, c.id, 'status'), c]));
  void app
    .listen([...topics.keys()], (topic, payload) => {
      const cam = topics.get(topic)!;
      const s = readStatus(cam, payload);
      if (!s) return;
      const el = statusEls.get(cam.id)!;
      el.className = `status ${s.state}`;
      el.textContent = `${s.state}${s.at ? ` · seen ${ago(s.at)}` : ''}${s.spoolEntries ? ` · ${s.spoolEntries} waiting to upload` : ''}`;
    })
    .then(
      (stop) => {
        banner.textContent = '';
        onLeave(stop);
      },
      () => (banner.textContent = 'Offline: the relay cannot be reached. These are the cameras kept on this phone.'),
    );
  return screen;
}
