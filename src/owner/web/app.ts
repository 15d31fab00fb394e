/**
 * The browser viewer (bundled for the page by server.ts). Plaintext exists only here: the page
 * connects to the relay with MQTT over WebSocket, verifies and decrypts with tweetnacl (the
 * protocol code, with node:crypto replaced by node-crypto-shim.ts), decodes with the browser's
 * WebCodecs and draws on a canvas. A segment from a camera this viewer has not paired is refused
 * with a clear message and draws nothing.
 */
import mqtt from 'mqtt';
import { Identity, Reassembler, SealcamError, Viewer, fromHex, publicIdentity } from '../../protocol/index.js';
import { parseChunk, parseInitSegment } from '../../media/cmaf-read.js';
import { readFrameCode } from '../../media/synthetic.js';

interface Config {
  identitySecret: string;
  camera: { signPublicKey: string; boxPublicKey: string; name: string };
  wsUrl: string;
  account: string;
  username: string;
  password: string;
}

const stats = { framesDrawn: 0, chunksAccepted: 0, rejected: {} as Record<string, number>, latenciesMs: [] as number[], status: 'starting', lastMessage: '' };
(window as unknown as { sealcam: unknown }).sealcam = stats;

const canvas = document.getElementById('video') as HTMLCanvasElement;
const ctx = canvas.getContext('2d', { willReadFrequently: true })!;
const statusEl = document.getElementById('status')!;
const messageEl = document.getElementById('message')!;
const latencyEl = document.getElementById('latency')!;
const show = (m: string) => {
  stats.lastMessage = m;
  messageEl.textContent = m;
};
const explain: Record<string, string> = {
  E_FOREIGN_CAMERA: 'this segment is from a camera you have not paired — nothing was decrypted',
  E_BAD_SIGNATURE: 'a segment was not signed by your camera — rejected',
  E_UNKNOWN_EPOCH: 'no key for this segment (you may have been removed from the camera)',
};

/** The synthetic camera's frame number, read back from the canvas. */
(window as unknown as { sealcamFrameCode: () => number | null }).sealcamFrameCode = () => {
  const img = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  const luma = new Uint8Array(canvas.width * canvas.height);
  for (let i = 0; i < luma.length; i++) luma[i] = (img[4 * i]! * 66 + img[4 * i + 1]! * 129 + img[4 * i + 2]! * 25 + 4096) >> 8;
  return readFrameCode(luma, canvas.width, canvas.height);
};

async function main(): Promise<void> {
  const token = new URLSearchParams(location.search).get('t') ?? '';
  const config = (await (await fetch(`/config.json?t=${encodeURIComponent(token)}`)).json()) as Config;
  const me = Identity.fromSecret(fromHex(config.identitySecret));
  const camera = publicIdentity(fromHex(config.camera.signPublicKey), fromHex(config.camera.boxPublicKey));
  const live = new Viewer(me).pin(camera);
  const segs = new Viewer(me).pin(camera);
  const reassembler = new Reassembler();
  const captureOf = new Map<number, number>();
  let decoder: VideoDecoder | null = null;
  let timescale = 90_000;
  let started = false;
  const refuse = (e: unknown) => {
    if (!(e instanceof SealcamError)) throw e;
    stats.rejected[e.code] = (stats.rejected[e.code] ?? 0) + 1;
    show(explain[e.code] ?? `rejected: ${e.code}`);
  };
  const client = mqtt.connect(config.wsUrl, { protocolVersion: 4, username: config.username, password: config.password, reconnectPeriod: 2000 });
  client.on('connect', () => {
    stats.status = 'connected';
    statusEl.textContent = `connected to the relay as ${config.username}; watching ${config.camera.name}`;
    client.subscribe(`sc/v1/${config.account}/#`, { qos: 1 });
  });
  client.on('message', (topic: string, payload: Uint8Array) => {
    const bytes = new Uint8Array(payload);
    try {
      if (topic.endsWith('/keys')) {
        live.addAnnouncement(bytes);
        segs.addAnnouncement(bytes);
      } else if (topic.endsWith('/status')) {
        statusEl.textContent = `camera: ${JSON.parse(new TextDecoder().decode(bytes)).state}`;
      } else if (topic.endsWith('/seg')) {
        const envelope = reassembler.push(bytes);
        if (envelope && !decoder) {
          const opened = segs.openSegment(envelope);
          if (opened.header.kind === 'init') {
            const init = parseInitSegment(opened.payload);
            timescale = init.timescale;
            decoder = new VideoDecoder({
              output: (frame) => {
                if (canvas.width !== frame.displayWidth) {
                  canvas.width = frame.displayWidth;
                  canvas.height = frame.displayHeight;
                }
                ctx.drawImage(frame, 0, 0);
                stats.framesDrawn++;
                const captured = captureOf.get(frame.timestamp);
                if (captured !== undefined) {
                  stats.latenciesMs.push(Date.now() - captured);
                  if (stats.framesDrawn % 30 === 0) latencyEl.textContent = `live latency (capture → drawn): ${Date.now() - captured} ms`;
                }
                frame.close();
              },
              error: (e) => show(`decoder: ${e.message}`),
            });
            decoder.configure({ codec: init.codec, description: init.description, optimizeForLatency: true });
          }
        }
      } else if (topic.endsWith('/live')) {
        const c = live.acceptLiveChunk(bytes);
        stats.chunksAccepted++;
        if (!decoder || !c.payload.length) return;
        for (const s of parseChunk(c.payload, timescale)) {
          if (!started && !s.key) continue;
          started = true;
          captureOf.set(s.timestampUs, c.captureTime + (c.chunkIndex * 1000) / 30);
          decoder.decode(new EncodedVideoChunk({ type: s.key ? 'key' : 'delta', timestamp: s.timestampUs, duration: s.durationUs, data: s.data }));
        }
      }
    } catch (e) {
      refuse(e);
    }
  });
}

main().catch((e: Error) => show(`viewer failed: ${e.message}`));
