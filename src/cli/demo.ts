/**
 * `sealcam demo` — the seed story, at the protocol level, in one process.
 *
 * Today it runs the sealed-segment protocol end to end: a camera seals segments for its owner,
 * they are split into ≤128 KiB transport messages, and a relay that misroutes (the Mi Home /
 * Wyze failure) delivers every message both to the owner and to a stranger. The owner opens
 * everything; the stranger gets E_FOREIGN_CAMERA for every segment and zero plaintext.
 * Payloads are synthetic bytes: capture and encoding, the MQTT relay and QR pairing are separate
 * issues and will replace the in-process parts here as they land (the summary says so).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import {
  CameraEpochs,
  Identity,
  Reassembler,
  SealcamError,
  SegmentSealer,
  Viewer,
  openRoster,
  publicIdentity,
  signRoster,
  splitForTransport,
  type RandomSource,
} from '../protocol/index.js';

const random: RandomSource = (n) => new Uint8Array(randomBytes(n));

function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export interface ProtocolDemoReport {
  mode: 'protocol-only';
  segmentsSealed: number;
  transportMessages: number;
  segmentsOpenedByOwner: number;
  ownerBytesOpened: number;
  strangerSegmentsReceived: number;
  strangerSegmentsRejected: number;
  strangerRejectionCodes: Record<string, number>;
  strangerBytesOpened: number;
  replayRejectedWith: string;
  notYetBuilt: string[];
}

export function runProtocolDemo(segments: number, segmentBytes: number, now = Date.now()): ProtocolDemoReport {
  const camera = Identity.generate(random);
  const owner = Identity.generate(random);
  const stranger = Identity.generate(random);
  const strangersCamera = Identity.generate(random);

  // Pairing (in process for now): the owner pins the camera, the camera accepts the owner's roster.
  const roster = openRoster(signRoster(owner, { cameraId: camera.id, rosterVersion: 1, issuedAt: now, viewers: [owner.public] }), owner.signPublicKey);
  const epochs = new CameraEpochs(camera, random, 0);
  const announcement = epochs.rotate(roster, now);
  const ownerViewer = new Viewer(owner);
  ownerViewer.pin(publicIdentity(camera.signPublicKey, camera.boxPublicKey)).addAnnouncement(announcement);
  // The stranger has a camera of their own, paired properly.
  const strangerViewer = new Viewer(stranger);
  strangerViewer.pin(publicIdentity(strangersCamera.signPublicKey, strangersCamera.boxPublicKey));

  const sealer = new SegmentSealer(camera, epochs, random, 0);
  const toOwner = new Reassembler();
  const toStranger = new Reassembler();
  const report: ProtocolDemoReport = {
    mode: 'protocol-only',
    segmentsSealed: 0,
    transportMessages: 0,
    segmentsOpenedByOwner: 0,
    ownerBytesOpened: 0,
    strangerSegmentsReceived: 0,
    strangerSegmentsRejected: 0,
    strangerRejectionCodes: {},
    strangerBytesOpened: 0,
    replayRejectedWith: '',
    notYetBuilt: ['1080p capture and H.264 encode', 'MQTT relay (aedes)', 'QR pairing', 'browser viewer'],
  };
  let lastEnvelope: Uint8Array | null = null;
  for (let i = 0; i < segments; i++) {
    const payload = random(segmentBytes);
    const envelope = sealer.seal({ kind: i === 0 ? 'init' : 'media', captureTime: now + i * 2000, durationMs: 2000, payload, final: i === segments - 1 });
    report.segmentsSealed++;
    lastEnvelope = envelope;
    for (const message of splitForTransport(envelope)) {
      report.transportMessages++;
      const forOwner = toOwner.push(message);
      if (forOwner) {
        const opened = ownerViewer.openSegment(forOwner);
        report.segmentsOpenedByOwner++;
        report.ownerBytesOpened += opened.payload.length;
      }
      // The misrouting relay: the same message also reaches the stranger.
      const forStranger = toStranger.push(message);
      if (forStranger) {
        report.strangerSegmentsReceived++;
        try {
          report.strangerBytesOpened += strangerViewer.openSegment(forStranger).payload.length;
        } catch (e) {
          if (!SealcamError.is(e)) throw e;
          report.strangerSegmentsRejected++;
          report.strangerRejectionCodes[e.code] = (report.strangerRejectionCodes[e.code] ?? 0) + 1;
        }
      }
    }
  }
  try {
    if (lastEnvelope) ownerViewer.openSegment(lastEnvelope);
    report.replayRejectedWith = 'ACCEPTED (bug)';
  } catch (e) {
    report.replayRejectedWith = SealcamError.is(e) ? e.code : String(e);
  }
  ownerViewer.cameras[0]!.stream.assertComplete();
  return report;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(
      'run the seed story in one process: a camera seals segments for its owner and a misrouting relay also hands them to a stranger, ' +
        'who gets E_FOREIGN_CAMERA and zero plaintext. Protocol only for now: payloads are synthetic bytes, not video',
    )
    .option('--segments <n>', 'segments to seal', positiveInt, 10)
    .option('--segment-bytes <n>', 'payload bytes per segment (a 2 s 4 Mbps segment is about 1 MB)', positiveInt, 1_000_000)
    .option('--report <file>', 'also write the summary as JSON')
    .action(async (opts: { segments: number; segmentBytes: number; report?: string }) => {
      const report = runProtocolDemo(opts.segments, opts.segmentBytes);
      const codes = Object.entries(report.strangerRejectionCodes).map(([c, n]) => `${c} ×${n}`).join(', ') || 'none';
      process.stdout.write(
        [
          'sealcam demo (protocol only)',
          `  camera sealed            ${report.segmentsSealed} segments in ${report.transportMessages} transport messages (≤128 KiB each)`,
          `  owner opened             ${report.segmentsOpenedByOwner} segments, ${report.ownerBytesOpened} bytes`,
          `  stranger (misrouted)     received ${report.strangerSegmentsReceived}, rejected ${report.strangerSegmentsRejected} (${codes}), opened ${report.strangerBytesOpened} bytes`,
          `  replayed last segment    rejected with ${report.replayRejectedWith}`,
          `  not built yet            ${report.notYetBuilt.join('; ')}`,
          '',
        ].join('\n'),
      );
      if (opts.report) {
        await mkdir(dirname(opts.report), { recursive: true });
        await writeFile(opts.report, `${JSON.stringify(report, null, 2)}\n`);
      }
      if (report.strangerBytesOpened !== 0 || report.segmentsOpenedByOwner !== report.segmentsSealed) process.exitCode = 1;
    });
}
