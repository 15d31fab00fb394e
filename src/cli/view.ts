/** `sealcam view`: the owner's CLI viewer — history to an MP4, or a live watch. */
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import type { Command } from 'commander';
import { positiveInt, time } from './options.js';
import { LIVE_DEFAULTS, SealcamError, Viewer, toHex, type PublicIdentity } from '../protocol/index.js';
import { describeLive, watchLive } from '../owner/live-watch.js';
import { OwnerHome } from '../owner/home.js';
import { describeEvents, describeHistory, fetchHistory } from '../owner/history.js';
import { decodeFrameCodes } from '../owner/decode.js';
import { startWebViewer } from '../owner/web/server.js';
import { cameraRelayStatus, describeRelayStatus, relayInfo } from '../owner/relay-api.js';
import { writeFileAtomic } from '../media/atomic-file.js';


interface ViewOptions {
  home: string;
  camera: string;
  out?: string;
  live?: boolean;
  events?: boolean;
  event?: number;
  thumbnails?: string;
  web?: boolean;
  port?: number;
  seconds: number;
  since?: number;
  until?: number;
  json?: boolean;
  maxAge?: number;
}

/** A fresh viewer for the owner's camera (each fetch checks seq order from the start). */
function viewerFor(home: OwnerHome, cam: { camera: PublicIdentity }): Viewer {
  const v = new Viewer(home.identity);
  v.pin(cam.camera);
  return v;
}

export function registerView(program: Command): void {
  program
    .command('view')
    .description("watch a paired camera as its owner (or a household viewer): verify and decrypt its history into an MP4, or follow it live. Rejected segments and gaps are reported, never spliced silently")
    .requiredOption('--home <dir>', 'owner (or viewer) home')
    .requiredOption('--camera <name>', 'the camera, by the name given at pairing')
    .option('--out <file>', 'write the verified history as an MP4 (init + media segments of the latest run; with --event, the clip of that event)')
    .option('--events', "list the camera's motion events (each verified and decrypted like video): times, moving area, segments")
    .option('--event <seq>', 'with --out: the clip of this event (its seq, as --events lists it)', positiveInt)
    .option('--thumbnails <dir>', "with --events: write each event's thumbnail as event-<seq>.png (0600)")
    .option('--live', 'follow the camera live: verify and decrypt each live chunk as it arrives')
    .option('--web', 'with --live: serve the browser viewer on 127.0.0.1 (the page does its own MQTT over WebSocket, verification, decryption and WebCodecs decoding)')
    .option('--port <n>', 'with --web: the local port (default: a free one)', Number)
    .option('--seconds <n>', 'with --live: stop after this many seconds (with --web: 0 = until Ctrl-C)', Number, 30)
    .option('--json', 'print the summary as JSON (with --live: framesDecoded, msToFirstFrame, chunksConfirmed, chunksUnconfirmed, rejected by code, alarms, cameraLastSeen; with --out: every segment with its capture time, rejections, gaps, truncation)')
    .option('--max-age <ms>', `with --live: a chunk whose segment began longer ago than this is not live and is rejected (E_STALE_LIVE); default ${LIVE_DEFAULTS.maxAgeMs} (2 s segments + 6 s of delay and clock skew)`, positiveInt)
    .option('--since <time>', 'with --out: from this capture time (ISO date or ms)', time)
    .option('--until <time>', 'with --out: up to this capture time (ISO date or ms)', time)
    .action(async (opts: ViewOptions) => {
      if ([opts.out, opts.live, opts.events].filter(Boolean).length !== 1) throw new SealcamError('E_CONFIG', 'give exactly one of --out FILE, --live or --events');
      if (opts.event !== undefined && !opts.out) throw new SealcamError('E_CONFIG', '--event needs --out FILE (the clip)');
      if (opts.thumbnails && !opts.events) throw new SealcamError('E_CONFIG', '--thumbnails goes with --events');
      const home = await OwnerHome.open(resolve(opts.home));
      const cam = await home.camera(opts.camera);
      const login = await home.relay();
      const viewer = new Viewer(home.identity);
      viewer.pin(cam.camera);
      const cameraId = toHex(cam.camera.id);
      const range = { ...(opts.since !== undefined ? { since: opts.since } : {}), ...(opts.until !== undefined ? { until: opts.until } : {}) };
      if (opts.events) {
        const h = await fetchHistory(login, viewer, cameraId, { ...range, eventsOnly: true });
        if (opts.thumbnails) {
          await mkdir(resolve(opts.thumbnails), { recursive: true, mode: 0o700 });
          for (const e of h.events) if (e.thumbnailPng) await writeFileAtomic(join(resolve(opts.thumbnails), `event-${e.seq}.png`), e.thumbnailPng, 0o600);
        }
        if (opts.json) process.stdout.write(`${JSON.stringify({ events: h.events.map(({ thumbnailPng, ...e }) => ({ ...e, thumbnailBytes: thumbnailPng?.length ?? 0 })), rejected: h.rejected, announcementsRejected: h.announcementsRejected }, null, 2)}\n`);
        else process.stdout.write(describeEvents(h.events, h.rejected, opts.thumbnails));
        if (h.rejected.length) process.exitCode = 3;
        return;
      }
      if (opts.out && opts.event !== undefined) {
        const events = (await fetchHistory(login, viewerFor(home, cam), cameraId, { ...range, eventsOnly: true })).events;
        const e = events.find((x) => x.seq === opts.event);
        if (!e) throw new SealcamError('E_NOT_FOUND', `no verified event with seq ${opts.event} (sealcam view --events lists them)`);
        const h = await fetchHistory(login, viewer, cameraId, { clip: { firstSeq: e.firstSeq, lastSeq: e.lastSeq } });
        if (!h.mp4.length) throw new SealcamError('E_NOT_FOUND', `the segments of event ${e.seq} (seq ${e.firstSeq}..${e.lastSeq}) are no longer in the history, or their init segment is not`);
        await writeFileAtomic(opts.out, h.mp4, 0o600);
        const frames = (await decodeFrameCodes(h.mp4)).length;
        process.stdout.write(`${opts.out}: the clip of event ${e.seq} (${new Date(e.startTime).toISOString()}, ${((e.endTime - e.startTime) / 1000).toFixed(1)} s of motion), segments ${e.firstSeq}..${e.lastSeq}, ${frames} frames\n`);
        return;
      }
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
        const relayStatus = await cameraRelayStatus(login, cameraId);
        const relayLine = describeRelayStatus(relayStatus);
        if (opts.json) {
          const { mp4: _, ...rest } = h;
          process.stdout.write(`${JSON.stringify({ out: opts.out, framesDecoded: frames, ...rest, relayStatus }, null, 2)}\n`);
        } else {
          process.stdout.write(describeHistory(opts.out, frames, h));
          if (relayLine) process.stdout.write(`  ${relayLine}\n`);
        }
        if (h.rejected.length || h.announcementsRejected.length || h.tailMissing || h.rosterLag || relayLine) process.exitCode = 3;
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
