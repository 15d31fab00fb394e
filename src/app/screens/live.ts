/**
 * Live: the camera's keys, live and status topics go through the one LiveSession every viewer
 * uses (PROTOCOL.md §7.5: late join, seal confirmation, freshness, replay protection with the stream
 * state kept in IndexedDB, held messages, E_ROSTER_LAGGING against the roster this phone signed).
 * A frame whose segment the camera has not sealed yet is drawn with an amber border and the
 * "unconfirmed" mark; every rejection is explained in words (explain.ts) and nothing is drawn from it.
 */
import { LiveSession, SealcamError, cameraTopic, fromHex, type LiveEvent, type StreamSnapshot } from '../../protocol/index.js';
import { explain } from '../explain.js';
import { LivePlayer } from '../player.js';
import { store, type AppCamera } from '../store.js';
import { cameraPublic, h, type App } from '../ui.js';

export interface LiveStats {
  rejected: Record<string, number>;
  chunksAccepted: number;
  chunksConfirmed: number;
  alarms: string[];
}

export function liveScreen(app: App, cam: AppCamera, onLeave: (f: () => void) => void): HTMLElement {
  const canvas = h('canvas', { testid: 'live-canvas', width: 640, height: 360, class: 'video' });
  const frames = h('span', { testid: 'frames-drawn' }, '0');
  const latency = h('span', { testid: 'latency-ms' }, '–');
  const mark = h('span', { testid: 'live-unconfirmed', class: 'mark' });
  const rejection = h('p', { class: 'problem', testid: 'rejection' });
  const alarm = h('p', { class: 'alarm', testid: 'alarm' });
  const state = h('p', { testid: 'live-state' }, 'Connecting…');
  // Fullscreen takes the video with its "not yet sealed" mark, so the mark is never hidden.
  const wrap = h('div', { class: 'video-wrap', testid: 'live-video' }, canvas, mark);
  const screen = h('section', { class: 'screen live' },
    wrap,
    h('p', { class: 'meta' }, 'frames ', frames, ' · latency ', latency, ' ms ', h('button', { class: 'small', testid: 'fullscreen', onclick: () => void wrap.requestFullscreen?.().catch(() => undefined) }, 'Fullscreen')),
    state, alarm, rejection);
  const stats: LiveStats = { rejected: {}, chunksAccepted: 0, chunksConfirmed: 0, alarms: [] };
  (window as unknown as { sealcamLive: unknown }).sealcamLive = stats;

  const player = new LivePlayer(canvas, {
    onDraw: (ms) => {
      frames.textContent = String(player.stats.framesDrawn);
      if (ms !== undefined && player.stats.framesDrawn % 10 === 0) latency.textContent = String(Math.round(ms));
      paint();
    },
    onBadVideo: () => (rejection.textContent = explain('E_BITSTREAM')),
  });
  (window as unknown as { sealcamPlayer: unknown }).sealcamPlayer = player.stats;
  const paint = () => {
    const pending = stats.chunksAccepted - stats.chunksConfirmed;
    const unconfirmed = player.showingUnconfirmed;
    canvas.classList.toggle('unconfirmed', unconfirmed);
    mark.textContent = unconfirmed ? `not yet sealed by the camera (${pending})` : '';
    mark.dataset.count = String(pending);
  };

  const key = `stream:${cam.id}`;
  const expectedRoster = { rosterVersion: cam.rosterVersion, viewerIds: [app.me!.id, ...cam.viewers.map((v) => fromHex(v.id))] };
  let session: LiveSession | null = null;
  const take = (events: LiveEvent[]) => {
    for (const e of events) {
      player.take(e);
      if (e.type === 'confirmed') void store.put(key, session!.snapshot());
      else if (e.type === 'rejected') {
        stats.rejected[e.code] = (stats.rejected[e.code] ?? 0) + 1;
        rejection.textContent = explain(e.code);
      } else if (e.type === 'alarm') {
        stats.alarms.push(e.code);
        alarm.textContent = explain(e.code);
      }
    }
    stats.chunksAccepted = session!.stats.chunksAccepted;
    stats.chunksConfirmed = session!.stats.chunksConfirmed;
    paint();
  };

  void (async () => {
    const snapshot = await store.get<StreamSnapshot>(key);
    const make = (s?: StreamSnapshot) => new LiveSession(cameraPublic(cam), app.me!, { now: Date.now, expectedRoster, ...(s ? { snapshot: s } : {}) });
    try {
      session = make(snapshot);
    } catch (e) {
      if (!SealcamError.is(e)) throw e;
      session = make();
      rejection.textContent = 'The replay protection kept for this camera was damaged and starts again.';
    }
    const topics = { keys: cameraTopic(app.login!.account, cam.id, 'keys'), live: cameraTopic(app.login!.account, cam.id, 'live') };
    const tick = setInterval(() => take(session!.tick()), 1000);
    onLeave(() => {
      clearInterval(tick);
      player.close();
    });
    try {
      onLeave(await app.listen(Object.values(topics), (topic, payload) => take(session!.handle(topic === topics.keys ? 'keys' : 'live', payload))));
    } catch {
      state.textContent = 'Offline: the relay cannot be reached.';
      return;
    }
    state.textContent = `Watching ${cam.name}: video starts at the camera's next segment.`;
    state.dataset.state = 'connected';
  })();
  return screen;
}
