/**
 * The browser viewer (bundled for the page by server.ts). Plaintext exists only here: the page
 * connects to the relay with MQTT over WebSocket, subscribes to one camera's keys, live and status
 * topics, and hands every message to the same LiveSession as the CLI (PROTOCOL.md §7.5): it
 * verifies and decrypts with tweetnacl (node:crypto replaced by node-crypto-shim.ts), joins a
 * stream already under way at the next segment, holds chunks that arrive before their keys,
 * rejects old recordings (E_STALE_LIVE) and, with the stream state kept in localStorage across
 * reloads and in the owner home through the local server (POST /state, so a page on a new port
 * and `view --live` share it), replays (E_REPLAY). The browser's WebCodecs decodes and a canvas draws; a frame whose
 * segment the camera's seal has not yet confirmed is drawn with an amber border and counted in the
 * "unconfirmed" badge. A message from a camera this viewer has not paired is refused with a clear
 * message and draws nothing.
 */
import mqtt from 'mqtt';
import { Identity, LiveSession, SealcamError, cameraTopic, fromHex, publicIdentity, toHex, type ExpectedRoster, type LiveEvent, type StreamSnapshot } from '../../protocol/index.js';
import { parseChunk, parseInitSegment } from '../../media/cmaf-read.js';
import { readFrameCode } from '../../media/synthetic.js';
import { CaptureClock } from '../capture-clock.js';

interface Config {
  /** the stream state kept in the owner home (by `view --live` or an earlier page), or null */
  snapshot: StreamSnapshot | null;
  identitySecret: string;
  camera: { signPublicKey: string; boxPublicKey: string; name: string };
  /** the roster the owner last signed for this camera (viewer ids in hex), when known: E_ROSTER_LAGGING */
  expectedRoster?: { rosterVersion: number; viewerIds: string[] };
  wsUrl: string;
  account: string;
  username: string;
  password: string;
}

const stats = {
  status: 'starting',
  framesDrawn: 0,
  /** frames drawn while their segment was not (yet) confirmed by the camera's seal */
  framesDrawnUnconfirmed: 0,
  chunksAccepted: 0,
  chunksConfirmed: 0,
  chunksUnconfirmed: 0,
  segmentsConfirmed: 0,
  /** ms from the page's start (navigation) to the first frame drawn */
  msToFirstFrame: null as number | null,
  skippedBeforeJoin: 0,
  /** the seq of the first segment this page played from its first chunk */
  joinedSeq: null as number | null,
  rejected: {} as Record<string, number>,
  alarms: [] as string[],
  /** ISO capture time of the newest accepted chunk */
  cameraLastSeen: null as string | null,
  /** the camera's retained status message (online/offline) */
  cameraStatus: null as string | null,
  /** whether a stream state persisted by an earlier visit was restored */
  restoredState: false,
  latenciesMs: [] as number[],
  lastMessage: '',
};
(window as unknown as { sealcam: unknown }).sealcam = stats;

const canvas = document.getElementById('video') as HTMLCanvasElement;
const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
const $ = (id: string) => document.getElementById(id)!;
const show = (m: string) => {
  stats.lastMessage = m;
  $('message').textContent = m;
};

/** What each rejection means to the person watching. */
const explain: Record<string, string> = {
  E_FOREIGN_CAMERA: 'this segment is from a camera you have not paired — nothing was decrypted',
  E_BAD_SIGNATURE: 'a segment was not signed by your camera — rejected',
  E_UNKNOWN_EPOCH: 'no key for this segment (you may have been removed from the camera)',
  E_REPLAY: 'video this viewer has already been shown was sent again (a replayed recording) — not shown as live',
  E_STALE_LIVE: 'video captured too long ago (or dated in the future) arrived as live — an old recording is not shown as live; if this persists, check the camera\'s and this computer\'s clocks',
  E_REORDERED: 'video arrived out of order (older than what is already shown) — skipped',
  E_FORWARD_JUMP: 'a segment number jumps implausibly far ahead — rejected',
  E_EPOCH_ROLLBACK: 'a segment is sealed under an older key than one already seen — rejected',
  E_DECRYPT: 'a chunk could not be decrypted (altered on the way) — rejected',
  E_INNER_HEADER: 'a chunk does not belong to the segment it claims — rejected',
  E_LIVE_INCOMPLETE: 'the camera\'s seal arrived for chunks this viewer did not all receive — that segment stays unconfirmed',
  E_ROSTER_LAGGING: 'the camera is still using keys for an older viewer list: a viewer you removed may still be able to watch',
  E_MALFORMED: 'a message that is not sealcam video arrived — ignored',
  E_BAD_MAGIC: 'a message that is not sealcam video arrived — ignored',
  E_TRUNCATED: 'a message was cut short — ignored',
  E_BITSTREAM: 'a decrypted chunk is not valid video — skipped',
};
const STORAGE_PREFIX = 'sealcam:stream:';

/** The synthetic camera's frame number, read back from the canvas. */
(window as unknown as { sealcamFrameCode: () => number | null }).sealcamFrameCode = () => {
  const img = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const luma = new Uint8Array(canvas.width * canvas.height);
  for (let i = 0; i < luma.length; i++) luma[i] = (img[4 * i]! * 66 + img[4 * i + 1]! * 129 + img[4 * i + 2]! * 25 + 4096) >> 8;
  return readFrameCode(luma, canvas.width, canvas.height);
};

/** The stream state an earlier visit kept, or undefined (and a visible warning if it is damaged). */
function loadSnapshot(key: string): StreamSnapshot | undefined {
  const text = localStorage.getItem(key);
  if (text === null) return undefined;
  try {
    return JSON.parse(text) as StreamSnapshot;
  } catch {
    show('the stream state kept by this browser is damaged: replays of video already shown cannot be recognised this time');
    return undefined;
  }
}

/** The newer of two kept stream states: the one that has seen the higher seq. */
function newer(a: StreamSnapshot | undefined, b: StreamSnapshot | null): StreamSnapshot | undefined {
  if (!b || b.highestSeq === null) return a;
  if (!a || a.highestSeq === null || b.highestSeq > a.highestSeq) return b;
  return a;
}

function startSession(camera: ReturnType<typeof publicIdentity>, me: Identity, key: string, expected: ExpectedRoster | undefined, kept: StreamSnapshot | null): LiveSession {
  const snapshot = newer(loadSnapshot(key), kept);
  const make = (s: StreamSnapshot | undefined) => new LiveSession(camera, me, { now: Date.now, ...(s ? { snapshot: s } : {}), ...(expected ? { expectedRoster: expected } : {}) });
  if (!snapshot) return make(undefined);
  try {
    const session = make(snapshot);
    stats.restoredState = true;
    return session;
  } catch (e) {
    if (!SealcamError.is(e)) throw e;
    show(`the stream state kept for this camera is damaged (${e.message}): replays of video already shown cannot be recognised this time`);
    return make(undefined);
  }
}

/** Keep the stream state in this browser and in the owner home (the server keeps only an advance). */
function keepState(key: string, snapshot: StreamSnapshot): void {
  const text = JSON.stringify(snapshot);
  localStorage.setItem(key, text);
  fetch('/state', { method: 'POST', body: text, headers: { 'content-type': 'application/json' } }).then(
    (r) => {
      if (r.status >= 400 && r.status !== 409) show(`the owner home did not keep the stream state (HTTP ${r.status}); this browser still has it`);
    },
    () => show('the sealcam viewer server is gone: the stream state is kept in this browser only'),
  );
}

async function main(): Promise<void> {
  const token = new URLSearchParams(location.search).get('t') ?? '';
  const config = (await (await fetch(`/config.json?t=${encodeURIComponent(token)}`)).json()) as Config;
  const me = Identity.fromSecret(fromHex(config.identitySecret));
  const camera = publicIdentity(fromHex(config.camera.signPublicKey), fromHex(config.camera.boxPublicKey));
  const cameraId = toHex(camera.id);
  const storageKey = `${STORAGE_PREFIX}${cameraId}`;
  const expected = config.expectedRoster ? { rosterVersion: config.expectedRoster.rosterVersion, viewerIds: config.expectedRoster.viewerIds.map((id) => fromHex(id)) } : undefined;
  const session = startSession(camera, me, storageKey, expected, config.snapshot);

  let decoder: VideoDecoder | null = null;
  let timescale = 90_000;
  let started = false;
  /** decode timestamp → the segment and capture time of the chunk it came from */
  const pending = new Map<number, { seq: number; captured: number | undefined }>();
  const clock = new CaptureClock();
  const confirmedSeqs = new Set<number>();
  let shownSeq: number | null = null;

  /** Update the stats now, and what the page shows at the next animation frame (not once per chunk). */
  let paintQueued = false;
  const render = () => {
    updateStats();
    if (paintQueued) return;
    paintQueued = true;
    requestAnimationFrame(() => {
      paintQueued = false;
      paint();
    });
  };
  const updateStats = () => {
    const s = session.stats;
    stats.chunksAccepted = s.chunksAccepted;
    stats.chunksConfirmed = s.chunksConfirmed;
    stats.chunksUnconfirmed = session.chunksUnconfirmed;
    stats.segmentsConfirmed = s.segmentsConfirmed;
    stats.skippedBeforeJoin = s.skippedBeforeJoin;
    stats.rejected = { ...s.rejected } as Record<string, number>;
    stats.cameraLastSeen = s.lastCaptureTime === null ? null : new Date(s.lastCaptureTime).toISOString();
  };
  const paint = () => {
    const s = session.stats;
    const badge = $('unconfirmed');
    badge.dataset.count = String(stats.chunksUnconfirmed);
    badge.textContent = `${stats.chunksUnconfirmed} unconfirmed chunk${stats.chunksUnconfirmed === 1 ? '' : 's'} (shown before the camera's seal confirmed them); ${stats.chunksConfirmed} confirmed`;
    badge.className = stats.chunksUnconfirmed > 0 ? 'pending' : 'ok';
    const unconfirmedFrame = shownSeq !== null && !confirmedSeqs.has(shownSeq);
    canvas.className = unconfirmedFrame ? 'unconfirmed' : shownSeq !== null ? 'confirmed' : '';
    const ago = s.lastCaptureTime === null ? '' : ` (${Math.max(0, Math.round((Date.now() - s.lastCaptureTime) / 1000))} s ago)`;
    $('lastseen').textContent = `camera last seen: ${stats.cameraLastSeen === null ? 'not during this visit' : `${new Date(stats.cameraLastSeen).toLocaleTimeString()}${ago}`}${stats.cameraStatus ? `; status: ${stats.cameraStatus}` : ''}`;
    const codes = Object.entries(stats.rejected);
    $('rejections').textContent = codes.length === 0 ? '' : `rejected: ${codes.map(([c, n]) => `${n} × ${c} — ${explain[c] ?? 'rejected'}`).join('; ')}`;
  };

  const reject = (code: string, message: string) => {
    show(`${explain[code] ?? 'rejected'} (${code}: ${message})`);
  };

  const draw = (frame: VideoFrame) => {
    if (canvas.width !== frame.displayWidth) {
      canvas.width = frame.displayWidth;
      canvas.height = frame.displayHeight;
    }
    ctx.drawImage(frame, 0, 0);
    stats.framesDrawn++;
    stats.msToFirstFrame ??= Math.round(performance.now());
    const from = pending.get(frame.timestamp);
    pending.delete(frame.timestamp);
    if (from) {
      shownSeq = from.seq;
      if (!confirmedSeqs.has(from.seq)) stats.framesDrawnUnconfirmed++;
      if (from.captured !== undefined) {
        stats.latenciesMs.push(Date.now() - from.captured);
        if (stats.latenciesMs.length > 2000) stats.latenciesMs.shift(); // the latest 2000 frames, not the whole visit
        if (stats.framesDrawn % 30 === 0) $('latency').textContent = `live latency (capture → drawn): ${Math.round(Date.now() - from.captured)} ms`;
      }
    }
    frame.close();
    render();
  };

  const configure = (initSegment: Uint8Array) => {
    if (decoder && decoder.state !== 'closed') decoder.close();
    const init = parseInitSegment(initSegment);
    timescale = init.timescale;
    started = false;
    pending.clear();
    decoder = new VideoDecoder({ output: draw, error: (e) => show(`decoder: ${e.message}`) });
    decoder.configure({ codec: init.codec, description: init.description, optimizeForLatency: true });
  };

  const decodeChunk = (payload: Uint8Array, seq: number, captureTime: number, chunkIndex: number) => {
    if (!decoder || decoder.state !== 'configured' || payload.length === 0) return;
    for (const s of parseChunk(payload, timescale)) {
      if (!started && !s.key) continue; // a decoder starts at a key frame
      started = true;
      pending.set(s.timestampUs, { seq, captured: clock.at(seq, chunkIndex, captureTime, s.timestampUs) });
      if (pending.size > 512) pending.delete(pending.keys().next().value!);
      decoder.decode(new EncodedVideoChunk({ type: s.key ? 'key' : 'delta', timestamp: s.timestampUs, duration: s.durationUs, data: s.data }));
    }
  };

  const take = (events: LiveEvent[]) => {
    for (const e of events) {
      if (e.type === 'init') {
        if (e.changed || !decoder || decoder.state === 'closed') configure(e.payload);
      } else if (e.type === 'chunk') {
        stats.joinedSeq ??= e.chunk.seq;
        try {
          decodeChunk(e.chunk.payload, e.chunk.seq, e.chunk.captureTime, e.chunk.chunkIndex);
        } catch (err) {
          if (!SealcamError.is(err)) throw err;
          session.stats.rejected[err.code] = (session.stats.rejected[err.code] ?? 0) + 1;
          reject(err.code, err.message);
        }
      } else if (e.type === 'confirmed') {
        confirmedSeqs.add(e.seq);
        if (confirmedSeqs.size > 256) confirmedSeqs.delete(confirmedSeqs.values().next().value!);
        keepState(storageKey, session.snapshot());
      } else if (e.type === 'rejected') {
        reject(e.code, e.message);
      } else if (e.type === 'alarm') {
        stats.alarms.push(`${e.code}: ${e.message}`);
        $('alarm').textContent = `ALARM: ${explain[e.code]} (${e.message})`;
      }
    }
    render();
  };

  const topics = { keys: cameraTopic(config.account, cameraId, 'keys'), live: cameraTopic(config.account, cameraId, 'live'), status: cameraTopic(config.account, cameraId, 'status') };
  const client = mqtt.connect(config.wsUrl, { protocolVersion: 4, username: config.username, password: config.password, reconnectPeriod: 2000 });
  client.on('connect', () => {
    stats.status = 'connected';
    $('status').textContent = `connected to the relay as ${config.username}; watching ${config.camera.name}`;
    client.subscribe(Object.values(topics), { qos: 1 });
  });
  client.on('message', (topic: string, payload: Uint8Array) => {
    const bytes = new Uint8Array(payload);
    if (topic === topics.status) {
      try {
        stats.cameraStatus = String((JSON.parse(new TextDecoder().decode(bytes)) as { state?: unknown }).state);
      } catch {
        stats.cameraStatus = 'unreadable';
      }
      render();
    } else if (topic === topics.keys || topic === topics.live) {
      take(session.handle(topic === topics.keys ? 'keys' : 'live', bytes));
    }
  });
  setInterval(() => take(session.tick()), 1000);
  render();
}

main().catch((e: Error) => show(`viewer failed: ${e.message}`));
