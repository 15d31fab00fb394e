/**
 * History: a timeline by day and hour from the relay's listing (§15.6; metadata only), then the
 * chosen hour's segments fetched and opened in the page in the protocol's verification order (a
 * fresh Viewer pinned to this camera; E_FOREIGN_CAMERA before any key is touched). Gaps in the seq
 * numbers and rejected segments are shown on the timeline, never spliced over; a segment plays on
 * the canvas, and the hour downloads as one MP4 (init + media of the run, §15.7).
 */
import { SealcamError, Viewer, concatBytes, equalBytes, type ErrorCode } from '../../protocol/index.js';
import { explain } from '../explain.js';
import { playRecording } from '../player.js';
import type { SegmentItem } from '../relay-client.js';
import type { AppCamera } from '../store.js';
import { cameraPublic, h, problem, type App } from '../ui.js';

interface Opened {
  seq: number;
  kind: string;
  payload: Uint8Array;
  /** the init of its run */
  init: Uint8Array | null;
}

const HOUR = 3_600_000;
const dayStart = (d: Date) => new Date(d.getFullYear(), d.getMonth(), d.getDate()).getTime();
const dateValue = (t: number) => {
  const d = new Date(t);
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
};

export function historyScreen(app: App, cam: AppCamera): HTMLElement {
  const day = h('input', { type: 'date', testid: 'history-day', value: dateValue(Date.now()) });
  const timeline = h('div', { class: 'timeline', testid: 'timeline' });
  const hourView = h('div', { class: 'hour', testid: 'hour-view' });
  const canvas = h('canvas', { class: 'video', testid: 'history-canvas', width: 640, height: 360 });
  const played = h('span', { testid: 'history-frames' }, '0');
  const message = h('p', { class: 'problem', testid: 'history-message' });
  const download = h('a', { class: 'button', testid: 'download-clip', hidden: true }, 'Download this hour (MP4)');
  const screen = h('section', { class: 'screen history' }, h('label', {}, 'Day ', day), timeline, hourView, canvas, h('p', { class: 'meta' }, 'frames played ', played), download, message);
  let items: SegmentItem[] = [];

  const loadDay = async () => {
    timeline.replaceChildren(h('p', {}, 'Loading…'));
    const start = new Date(`${day.value}T00:00`).getTime() || dayStart(new Date());
    try {
      items = (await app.relay().segments(cam.id, start - HOUR, start + 24 * HOUR)).sort((a, b) => a.seq - b.seq);
    } catch (e) {
      timeline.replaceChildren(h('p', { class: 'problem' }, problem(e)));
      return;
    }
    const inDay = items.filter((s) => s.captureTime >= start && s.captureTime < start + 24 * HOUR);
    const hours = h('div', { class: 'hours' });
    for (let hr = 0; hr < 24; hr++) {
      const n = inDay.filter((s) => s.kind === 'media' && Math.floor((s.captureTime - start) / HOUR) === hr).length;
      hours.append(h('button', { class: `hour-cell${n ? ' has' : ''}`, testid: 'timeline-hour', 'data-hour': hr, 'data-count': n, disabled: !n, title: `${hr}:00 — ${n} segments`, onclick: () => void openHour(start + hr * HOUR) }, String(hr)));
    }
    timeline.replaceChildren(hours);
    const last = inDay.filter((s) => s.kind === 'media').at(-1);
    if (last) await openHour(start + Math.floor((last.captureTime - start) / HOUR) * HOUR);
    else hourView.replaceChildren(h('p', {}, 'Nothing recorded this day.'));
  };

  const openHour = async (from: number) => {
    hourView.replaceChildren(h('p', {}, 'Checking the recordings of this hour…'));
    download.hidden = true;
    const media = items.filter((s) => s.kind === 'media' && s.captureTime >= from && s.captureTime < from + HOUR);
    if (!media.length) return;
    // The init of the first run: the newest init at or before the hour's first segment.
    const init = items.filter((s) => s.kind === 'init' && s.seq < media[0]!.seq).at(-1);
    const wanted = [...(init ? [init] : []), ...items.filter((s) => s.seq >= media[0]!.seq && s.seq <= media.at(-1)!.seq)];
    const viewer = new Viewer(app.me!);
    const view = viewer.pin(cameraPublic(cam));
    const opened: Opened[] = [];
    const rejected = new Map<number, ErrorCode>();
    try {
      for (const epoch of await app.relay().epochs(cam.id)) {
        try {
          view.addAnnouncement(await app.relay().announcement(cam.id, epoch));
        } catch (e) {
          if (!SealcamError.is(e)) throw e; // an announcement not for this phone (before it was added) is fine
        }
      }
      let runInit: Uint8Array | null = null;
      for (const s of wanted) {
        try {
          const o = viewer.openSegment(await app.relay().segment(cam.id, s.seq));
          if (o.header.kind === 'init' && (!runInit || !equalBytes(runInit, o.payload))) runInit = o.payload;
          opened.push({ seq: s.seq, kind: o.header.kind, payload: o.payload, init: runInit });
        } catch (e) {
          if (!SealcamError.is(e)) throw e;
          rejected.set(s.seq, e.code);
        }
      }
    } catch (e) {
      hourView.replaceChildren(h('p', { class: 'problem' }, problem(e)));
      return;
    }
    const strip = h('div', { class: 'strip' });
    let prev: number | null = null;
    for (const s of wanted.filter((x) => x.kind === 'media')) {
      if (prev !== null && s.seq > prev + 1) {
        // seqs the camera sealed that the relay does not list here (lost, deleted, or withheld)
        const missing = items.filter((x) => x.seq > prev! && x.seq < s.seq).length;
        if (missing < s.seq - prev - 1) strip.append(h('span', { class: 'gap', testid: 'timeline-gap', title: `segments ${prev + 1}–${s.seq - 1} are missing` }, `gap ${s.seq - prev - 1}`));
      }
      prev = s.seq;
      const code = rejected.get(s.seq);
      const o = opened.find((x) => x.seq === s.seq);
      const t = new Date(s.captureTime).toLocaleTimeString();
      if (code) strip.append(h('span', { class: 'seg rejected', testid: 'timeline-rejected', title: explain(code), onclick: () => (message.textContent = `${t}: ${explain(code)}`) }, '✕'));
      else strip.append(h('button', { class: 'seg', testid: 'timeline-segment', 'data-seq': s.seq, title: t, onclick: () => void play(o!) }, t));
    }
    const rejections = [...rejected.values()];
    hourView.replaceChildren(strip, rejections.length ? h('p', { class: 'problem', testid: 'rejection' }, `${rejections.length} segment(s) rejected: ${explain(rejections[0]!)}`) : '');
    const run = opened.find((o) => o.kind === 'media' && o.init)?.init;
    if (run) {
      const parts = opened.filter((o) => o.kind === 'media' && o.init === run).map((o) => o.payload);
      download.href = URL.createObjectURL(new Blob([concatBytes(run, ...parts) as BlobPart], { type: 'video/mp4' }));
      download.download = `sealcam-${cam.name.replace(/[^A-Za-z0-9_-]+/g, '_')}-${new Date(from).toISOString().slice(0, 13)}h.mp4`;
      download.hidden = false;
    }
  };

  const play = async (o: Opened) => {
    if (!o.init) return void (message.textContent = 'This segment cannot play: its camera run began before the recordings kept (no init segment).');
    message.textContent = '';
    try {
      played.textContent = String(await playRecording(canvas, o.init, o.payload));
    } catch {
      message.textContent = explain('E_BITSTREAM');
    }
  };

  day.addEventListener('change', () => void loadDay());
  void loadDay();
  return screen;
}
