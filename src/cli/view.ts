/** `sealcam view`: the owner's CLI viewer — history to an MP4, or a live watch. */
import { resolve } from 'node:path';
import type { Command } from 'commander';
import { positiveInt, time } from './options.js';
import { LIVE_DEFAULTS, SealcamError, Viewer, toHex } from '../protocol/index.js';
import { describeLive, watchLive } from '../owner/live-watch.js';
import { OwnerHome } from '../owner/home.js';
import { describeHistory, fetchHistory } from '../owner/history.js';
import { decodeFrameCodes } from '../owner/decode.js';
import { startWebViewer } from '../owner/web/server.js';
import { relayInfo } from '../owner/relay-api.js';
import { writeFileAtomic } from '../media/atomic-file.js';


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
    .option('--json', 'print the summary as JSON (with --live: framesDecoded, msToFirstFrame, chunksConfirmed, chunksUnconfirmed, rejected by code, alarms, cameraLastSeen; with --out: every segment with its capture time, rejections, gaps, truncation)')
    .option('--max-age <ms>', `with --live: a chunk whose segment began longer ago than this is not live and is rejected (E_STALE_LIVE); default ${LIVE_DEFAULTS.maxAgeMs} (2 s segments + 6 s of delay and clock skew)`, positiveInt)
    .option('--since <time>', 'with --out: from this capture time (ISO date or ms)', time)
    .option('--until <time>', 'with --out: up to this capture time (ISO date or ms)', time)
    .action(async (opts: { home: string; camera: string; out?: string; live?: boolean; web?: boolean; port?: number; seconds: number; since?: number; until?: number; json?: boolean; maxAge?: number }) => {
      if (!opts.out === !opts.live) throw new SealcamError('E_CONFIG', 'give exactly one of --out FILE or --live');
      const home = await OwnerHome.open(resolve(opts.home));
      const cam = await home.camera(opts.camera);
      const login = await home.relay();
      const viewer = new Viewer(home.identity);
      viewer.pin(cam.camera);
      const cameraId = toHex(cam.camera.id);
      if (opts.out) {
        const h = await fetchHistory(login, viewer, cameraId, {
          ...(opts.since !== undefined ? { since: opts.since } : {}),
          ...(opts.until !== undefined ? { until: opts.until } : {}),
          knownHighestSeq: await home.knownHighestSeq(cameraId),
          expectedRoster: home.expectedRoster(cam),
        });
        await writeFileAtomic(opts.out, h.mp4, 0o600); // decrypted video: the owner's eyes only
        const top = h.opened.at(-1);
        if (top) await home.rememberSeq(cameraId, top.seq);
        const frames = h.mp4.length ? (await decodeFrameCodes(h.mp4)).length : 0;
        if (opts.json) {
          const { mp4: _, ...rest } = h;
          process.stdout.write(`${JSON.stringify({ out: opts.out, framesDecoded: frames, ...rest }, null, 2)}\n`);
        } else {
          process.stdout.write(describeHistory(opts.out, frames, h));
        }
        if (h.rejected.length || h.announcementsRejected.length || h.tailMissing || h.rosterLag) process.exitCode = 3;
        return;
      }
      const info = await relayInfo(login);
      if (opts.web) {
        if (!info.wsUrl) throw new SealcamError('E_CONFIG', 'the relay has no WebSocket listener (an external broker?): the browser viewer needs MQTT over WebSocket');
        const web = await startWebViewer({ identity: home.identity, camera: cam.camera, cameraName: opts.camera, login, wsUrl: info.wsUrl, expectedRoster: home.expectedRoster(cam), state: { load: () => home.streamState(cameraId), save: (snapshot) => home.saveStreamState(cameraId, snapshot) }, ...(opts.port ? { port: opts.port } : {}) });
        process.stdout.write(`browser viewer: open ${web.url}\n(the link carries a one-time token; only this machine can reach it)\n`);
        if (opts.seconds > 0) {
          await new Promise((r) => setTimeout(r, opts.seconds * 1000));
          await web.close();
        }
        return;
      }
      const summary = await watchLive({ home, cam, login, mqttUrl: info.mqttUrl, seconds: opts.seconds, ...(opts.maxAge !== undefined ? { maxAgeMs: opts.maxAge } : {}), log: (m) => process.stderr.write(`${m}\n`) });
      if (opts.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
      else process.stdout.write(describeLive(summary));
      if (Object.keys(summary.rejected).length || summary.alarms.length) process.exitCode = 3;
    });
}
