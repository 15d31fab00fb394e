/**
 * History: a timeline by day and hour from the relay's listing (§15.6; metadata only), then the
 * chosen hour's segments fetched and opened in the page in the protocol's verification order (a
 * fresh Viewer pinned to this camera; E_FOREIGN_CAMERA before any key is touched). Gaps in the seq
 * numbers and rejected segments are shown on the timeline, never spliced over; the hour plays on
 * the canvas with a scrubber (playback.ts; tap a segment or drag to any moment), and downloads as
 * one MP4 (init + media of the run, §15.7).
 *
 * A hidden tail (§8.4): this phone remembers the newest seq it has seen (live, stream:<id>, and in
 * history, seen:<id>); a listing of today that ends below it was cut by the relay (or lost), even
 * when its last segment carries FINAL, and the page says so, as `sealcam view` does.
 */
import { SealcamError, Viewer, concatBytes, equalBytes, hiddenTail, type ErrorCode, type StreamSnapshot } from '../../protocol/index.js';
import { explain } from '../explain.js';
import { Playback, type ClipSegment } from '../playback.js';
import type { SegmentItem } from '../relay-client.js';
import { store, type AppCamera, type SeenRecord } from '../store.js';
import { cameraPublic, h, problem, type App } from '../ui.js';

interface Opened {
  seq: number;
  kind: string;
  payload: Uint8Array;
  /** the init of its run */
  init: Uint8Array | null;
  captureTime: number;
  durationMs: number;
}

/** The newest seq this phone has seen of the camera: live (the stream state) or in an earlier history. */
async function knownHighestSeq(cameraId: string): Promise<number | null> {
  const live = (await store.get<StreamSnapshot>(`stream:${cameraId}`))?.highestSeq ?? null;
  const seen = (await store.get<SeenRecord>(`seen:${cameraId}`))?.highestSeq ?? null;
  return live === null ? seen : seen === null ? live : Math.max(live, seen);
}

async function rememberSeen(cameraId: string, seq: number): Promise<void> {
  const known = (await store.get<SeenRecord>(`seen:${cameraId}`))?.highestSeq ?? -1;
  if (seq > known) await store.put(`seen:${cameraId}`, { v: 1, highestSeq: seq });
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
  const tail = h('p', { class: 'problem', testid: 'timeline-tail', hidden: true });
  const canvas = h('canvas', { class: 'video', testid: 'history-canvas', width: 640, height: 360 });
  const played = h('span', { testid: 'history-frames' }, '0');
  const scrub = h('input', { type: 'range', class: 'scrub', testid: 'history-scrub', min: 0, max: 0, step: 1, value: 0, disabled: true, 'aria-label': 'position in this hour' });
  const position = h('span', { testid: 'history-position' }, '–');
  const playButton = h('button', { class: 'small', testid: 'history-play', disabled: true }, 'Play');
  const message = h('p', { class: 'problem', testid: 'history-message' });
  const download = h('a', { class: 'button', testid: 'download-clip', hidden: true }, 'Download this hour (MP4)');
  const screen = h('section', { class: 'screen history' }, h('label', {}, 'Day ', day), timeline, tail, hourView, canvas, scrub,
    h('p', { class: 'meta' }, playButton, ' ', position, ' · frames played ', played), download, message);
  let items: SegmentItem[] = [];
  let playback: Playback | null = null;

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
    await checkTail(start);
    const last = inDay.filter((s) => s.kind === 'media').at(-1);
    if (last) await openHour(start + Math.floor((last.captureTime - start) / HOUR) * HOUR);
    else hourView.replaceChildren(h('p', {}, 'Nothing recorded this day.'));
  };

  // §8.4: a listing up to now that ends below the newest seq this phone has seen was cut.
  const checkTail = async (dayFrom: number) => {
    tail.hidden = true;
    if (dayFrom + 24 * HOUR <= Date.now()) return; // a past day: later segments belong to later days
    const cut = hiddenTail(items.at(-1)?.seq ?? null, await knownHighestSeq(cam.id));
    if (!cut) return;
    tail.textContent = `The recordings end at segment ${cut.historyEndsAt ?? 'none'}, but this phone has already seen segment ${cut.seenUpTo}: the relay withheld or lost the newest recordings (E_TRUNCATED).`;
    tail.dataset.historyEndsAt = String(cut.historyEndsAt ?? '');
    tail.dataset.seenUpTo = String(cut.seenUpTo);
    tail.hidden = false;
  };

  const openHour = async (from: number) => {
    hourView.replaceChildren(h('p', {}, 'Checking the recordings of this hour…'));
    download.hidden = true;
    playback?.pause();
    playback = null;
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
          opened.push({ seq: s.seq, kind: o.header.kind, payload: o.payload, init: runInit, captureTime: o.header.captureTime, durationMs: o.header.durationMs });
        } catch (e) {
          if (!SealcamError.is(e)) throw e;
          rejected.set(s.seq, e.code);
        }
      }
    } catch (e) {
      hourView.replaceChildren(h('p', { class: 'problem' }, problem(e)));
      return;
    }
    if (opened.length) await rememberSeen(cam.id, Math.max(...opened.map((o) => o.seq)));
    const clip: ClipSegment[] = opened.filter((o) => o.kind === 'media' && o.init).map((o) => ({ seq: o.seq, start: o.captureTime, durationMs: o.durationMs, init: o.init!, payload: o.payload }));
    const pb = (playback = new Playback(canvas, clip, showPosition, () => (message.textContent = explain('E_BITSTREAM'))));
    scrub.min = '0';
    scrub.max = String(pb.endMs - pb.startMs);
    scrub.value = '0';
    scrub.disabled = playButton.disabled = clip.length === 0;
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
      else if (!o?.init) strip.append(h('span', { class: 'seg', testid: 'timeline-segment', 'data-seq': s.seq, title: 'cannot play: its camera run began before the recordings kept (no init segment)' }, t));
      else strip.append(h('button', { class: 'seg', testid: 'timeline-segment', 'data-seq': s.seq, 'data-start': o.captureTime, 'data-duration': o.durationMs, title: t, onclick: () => void seek(o.captureTime, true) }, t));
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

  function showPosition(st: { positionMs: number; seq: number; playing: boolean; framesDrawn: number }): void {
    if (!playback) return;
    played.textContent = String(st.framesDrawn);
    position.textContent = new Date(st.positionMs).toLocaleTimeString();
    position.dataset.seq = String(st.seq);
    position.dataset.ms = String(Math.round(st.positionMs));
    if (document.activeElement !== scrub) scrub.value = String(Math.round(st.positionMs - playback.startMs));
    playButton.textContent = st.playing ? 'Pause' : 'Play';
  }

  const seek = async (ms: number, play: boolean) => {
    message.textContent = '';
    await playback?.seek(ms, play);
  };
  // Dragging shows the frame under the finger; letting go plays on from there if it was playing.
  let resume = false;
  scrub.addEventListener('input', () => {
    if (!playback) return;
    resume ||= playback.state.playing;
    void seek(playback.startMs + Number(scrub.value), false);
  });
  scrub.addEventListener('change', () => {
    if (!playback) return;
    void seek(playback.startMs + Number(scrub.value), resume);
    resume = false;
  });
  playButton.addEventListener('click', () => {
    if (!playback) return;
    if (playback.state.playing) playback.pause();
    else void seek(playback.state.positionMs >= playback.endMs - 50 ? playback.startMs : playback.state.positionMs, true);
  });

  day.addEventListener('change', () => void loadDay());
  void loadDay();
  return screen;
}
