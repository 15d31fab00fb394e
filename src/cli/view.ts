/** `sealcam view`: the owner's CLI viewer — history to an MP4, or a live watch. */
import { writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { time } from './options.js';
import { connectMqtt } from '../media/mqtt.js';
import { SealcamError, Viewer, cameraTopic, toHex } from '../protocol/index.js';
import { OwnerHome } from '../owner/home.js';
import { fetchHistory } from '../owner/history.js';
import { decodeFrameCodes } from '../owner/decode.js';
import { startWebViewer } from '../owner/web/server.js';


export function registerView(program: Command): void {
  program
    .command('view')
    .description("watch a paired camera as its owner (or a household viewer): verify and decrypt its history into an MP4, or follow it live. Rejected segments and gaps are reported, never spliced silently")
    .requiredOption('--home <dir>', 'owner (or viewer) home')
    .requiredOption('--camera <name>', 'the camera, by the name given at pairing')
    .option('--out <file>', 'write the verified history as an MP4 (init + media segments of the latest run)')
    .option('--live', 'follow the camera live: verify and decrypt each live chunk as it arrives')
    .option('--web', 'with --live: serve the browser viewer on 127.0.0.1 (the page does its own MQTT over WebSocket, verification, decryption and WebCodecs decoding)')
    .option('--port <n>', 'with --web: the local port (default: a free one)', Number)
    .option('--seconds <n>', 'with --live: stop after this many seconds (with --web: 0 = until Ctrl-C)', Number, 30)
    .option('--since <time>', 'with --out: from this capture time (ISO date or ms)', time)
    .option('--until <time>', 'with --out: up to this capture time (ISO date or ms)', time)
    .action(async (opts: { home: string; camera: string; out?: string; live?: boolean; web?: boolean; port?: number; seconds: number; since?: number; until?: number }) => {
      if (!opts.out === !opts.live) throw new SealcamError('E_CONFIG', 'give exactly one of --out FILE or --live');
      const home = await OwnerHome.open(resolve(opts.home));
      const cam = await home.camera(opts.camera);
      const login = await home.relay();
      const viewer = new Viewer(home.identity);
      const view = viewer.pin(cam.camera);
      const cameraId = toHex(cam.camera.id);
      if (opts.out) {
        const h = await fetchHistory(login, viewer, cameraId, { ...(opts.since !== undefined ? { since: opts.since } : {}), ...(opts.until !== undefined ? { until: opts.until } : {}) });
        await writeFile(opts.out, h.mp4);
        const frames = h.mp4.length ? (await decodeFrameCodes(h.mp4)).length : 0;
        const rejected = h.rejected.map((r) => `seq ${r.seq}: ${r.code}`).join(', ') || 'none';
        const gaps = h.gaps.map((g) => `${g.from}..${g.to}`).join(', ') || 'none';
        process.stdout.write(
          `${opts.out}: ${frames} frames decoded from ${h.opened.length} of ${h.segmentsListed} segments\n  rejected ${rejected}\n  gaps ${gaps}${h.truncated ? '\n  the stream ends without a FINAL segment (camera still running, or cut off)' : ''}\n`,
        );
        if (h.rejected.length || h.announcementsRejected.length) process.exitCode = 3;
        return;
      }
      const info = (await (await fetch(`${login.httpUrl}/v1/info`)).json()) as { mqttUrl: string; wsUrl: string | null };
      if (opts.web) {
        if (!info.wsUrl) throw new SealcamError('E_CONFIG', 'the relay has no WebSocket listener (an external broker?): the browser viewer needs MQTT over WebSocket');
        const web = await startWebViewer({ identity: home.identity, camera: cam.camera, cameraName: opts.camera, login, wsUrl: info.wsUrl, ...(opts.port ? { port: opts.port } : {}) });
        process.stdout.write(`browser viewer: open ${web.url}\n(the link carries a one-time token; only this machine can reach it)\n`);
        if (opts.seconds > 0) {
          await new Promise((r) => setTimeout(r, opts.seconds * 1000));
          await web.close();
        }
        return;
      }
      const client = await connectMqtt(info.mqttUrl, login, { reconnectPeriod: 1000 });
      const counts = { chunks: 0, bytes: 0, rejected: {} as Record<string, number> };
      client.on('message', (topic, payload) => {
        try {
          if (topic.endsWith('/keys')) view.addAnnouncement(new Uint8Array(payload));
          else if (topic.endsWith('/live')) {
            const c = view.acceptLiveChunk(new Uint8Array(payload));
            counts.chunks++;
            counts.bytes += c.payload.length;
          } else if (topic.endsWith('/status')) process.stderr.write(`camera status: ${payload.toString()}\n`);
        } catch (e) {
          if (!SealcamError.is(e)) throw e;
          counts.rejected[e.code] = (counts.rejected[e.code] ?? 0) + 1;
        }
      });
      await client.subscribeAsync(['keys', 'live', 'status'].map((ch) => cameraTopic(login.account, cameraId, ch as 'keys')), { qos: 1 });
      const timer = setInterval(() => process.stderr.write(`  live: ${counts.chunks} chunks, ${counts.bytes} bytes decrypted, rejected ${JSON.stringify(counts.rejected)}\n`), 1000);
      await new Promise((r) => setTimeout(r, opts.seconds * 1000));
      clearInterval(timer);
      await client.endAsync();
      process.stdout.write(`live: ${counts.chunks} chunks verified and decrypted; rejected ${JSON.stringify(counts.rejected)}\n`);
    });
}
