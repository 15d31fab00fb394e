/**
 * The browser viewer of `sealcam view --live --web` (bundled for its local page by
 * src/owner/web/server.ts, which imports none of this: it hands esbuild this file's path). The
 * live video path is the app's (player.ts, explain.ts). Plaintext exists only here: the page
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
import { Identity, LiveSession, SealcamError, cameraTopic, fromHex, publicIdentity, toHex, type ExpectedRoster, type LiveEvent, type StreamSnapshot } from '../protocol/index.js';
import { canvasLuma } from './canvas-luma.js';
import { EXPLAIN as explain } from './explain.js';
import { LivePlayer } from './player.js';

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

const STORAGE_PREFIX = 'sealcam:stream:';

/** The canvas's luma, for tests that read the synthetic camera's frame number back. */
(window as unknown as { sealcamCanvasLuma: () => ReturnType<typeof canvasLuma> }).sealcamCanvasLuma = () => canvasLuma(canvas);

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

  /** The app's live player draws on the page's canvas; its counters are this page's stats. */
  const player = new LivePlayer(canvas, {
    onDraw: (latency) => {
      stats.framesDrawn = player.stats.framesDrawn;
      stats.framesDrawnUnconfirmed = player.stats.framesDrawnUnconfirmed;
      stats.msToFirstFrame = player.stats.msToFirstFrame;
      stats.latenciesMs = player.stats.latenciesMs;
      if (latency !== undefined && stats.framesDrawn % 30 === 0) $('latency').textContent = `live latency (capture → drawn): ${Math.round(latency)} ms`;
      render();
    },
    onBadVideo: (m) => show(`decoder: ${m}`),
  });

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
    canvas.className = player.showingUnconfirmed ? 'unconfirmed' : player.shownSeq !== null ? 'confirmed' : '';
    const ago = s.lastCaptureTime === null ? '' : ` (${Math.max(0, Math.round((Date.now() - s.lastCaptureTime) / 1000))} s ago)`;
    $('lastseen').textContent = `camera last seen: ${stats.cameraLastSeen === null ? 'not during this visit' : `${new Date(stats.cameraLastSeen).toLocaleTimeString()}${ago}`}${stats.cameraStatus ? `; status: ${stats.cameraStatus}` : ''}`;
    const codes = Object.entries(stats.rejected);
    $('rejections').textContent = codes.length === 0 ? '' : `rejected: ${codes.map(([c, n]) => `${n} × ${c} — ${explain[c] ?? 'rejected'}`).join('; ')}`;
  };

  const reject = (code: string, message: string) => {
    show(`${explain[code] ?? 'rejected'} (${code}: ${message})`);
  };

  const take = (events: LiveEvent[]) => {
    for (const e of events) {
      player.take(e);
      if (e.type === 'chunk') stats.joinedSeq ??= e.chunk.seq;
      else if (e.type === 'confirmed') keepState(storageKey, session.snapshot());
      else if (e.type === 'rejected') {
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
