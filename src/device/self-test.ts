/**
 * `sealcam-agent self-test`: what an installed slot must pass before it is confirmed (slots.ts).
 * It loads the board profile, round-trips zstd through the native addon, and, on boards that
 * encode in software, loads node-webcodecs' addon and asks it for the board's H.264 config.
 */
import { loadBoard, type BoardProfile } from './board.js';
import { zstdDecompress } from '../media/zstd.js';
import { compress } from '@mongodb-js/zstd/bindings.js';

export interface SelfTestReport {
  ok: boolean;
  board?: string;
  checks: { name: string; ok: boolean; detail: string }[];
}

async function check(report: SelfTestReport, name: string, fn: () => Promise<string>): Promise<void> {
  try {
    report.checks.push({ name, ok: true, detail: await fn() });
  } catch (e) {
    report.ok = false;
    report.checks.push({ name, ok: false, detail: (e as Error).message });
  }
}

export async function runSelfTest(boardPath: string): Promise<SelfTestReport> {
  const report: SelfTestReport = { ok: true, checks: [] };
  let board: BoardProfile | undefined;
  await check(report, 'board profile', async () => {
    board = await loadBoard(boardPath);
    report.board = board.name;
    return `${board.name} (${board.arch}, ${board.encoder.strategy})`;
  });
  await check(report, 'zstd addon', async () => {
    const input = Buffer.from('sealcam self-test '.repeat(64));
    const back = await zstdDecompress(await compress(input, 3), input.length, 'self-test');
    if (Buffer.compare(Buffer.from(back), input) !== 0) throw new Error('zstd round trip changed the bytes');
    return `round trip of ${input.length} bytes`;
  });
  if (board?.encoder.strategy === 'webcodecs') {
    const { width, height, fps, bitrate } = board.video;
    await check(report, 'node-webcodecs addon', async () => {
      const { VideoEncoder } = await import('node-webcodecs');
      const support = await VideoEncoder.isConfigSupported({ codec: 'avc1.42C028', width, height, bitrate, framerate: fps, hardwareAcceleration: board!.encoder.hardwareAcceleration });
      if (!support.supported) throw new Error(`H.264 ${width}x${height}@${fps} is not supported`);
      return `H.264 ${width}x${height}@${fps} supported`;
    });
  }
  if (process.arch !== board?.arch && board !== undefined) {
    report.ok = false;
    report.checks.push({ name: 'architecture', ok: false, detail: `this is ${process.arch}, the board is ${board.arch}` });
  }
  return report;
}
