/**
 * Board profiles (boards/*.json): what a camera board is and how sealcam runs on it. The schema
 * is enforced when a profile loads; a bad profile fails with E_BOARD_PROFILE naming the field.
 */
import { readFile, readdir } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { z } from 'zod';
import { SealcamError } from '../protocol/errors.js';
import { parsePaddingPolicy } from '../protocol/padding.js';

const argv = z.array(z.string().min(1)).min(1);

export const BoardProfileSchema = z
  .object({
    name: z.string().regex(/^[a-z0-9][a-z0-9-]{1,40}$/, 'lowercase letters, digits and dashes'),
    description: z.string().min(1),
    soc: z.string().min(1),
    arch: z.enum(['x64', 'arm64']),
    ramMB: z.number().int().min(128),
    capture: z
      .object({
        /** synthetic: the built-in scene; process: spawn `command` and parse its stdout as `format` */
        driver: z.enum(['synthetic', 'process']),
        command: argv.optional(),
        format: z.enum(['raw', 'y4m', 'i420', 'h264']),
        /** what the camera is and how the command reaches it */
        notes: z.string().optional(),
      })
      .strict()
      .refine((c) => (c.driver === 'process') === (c.command !== undefined), { message: 'a process driver needs a command, and only it', path: ['command'] }),
    encoder: z
      .object({
        /** webcodecs: software H.264 by node-webcodecs; passthrough: the capture already yields H.264 */
        strategy: z.enum(['webcodecs', 'passthrough']),
        hardwareAcceleration: z.enum(['prefer-software', 'no-preference', 'prefer-hardware']).default('prefer-software'),
        /** the SoC's own H.264 encoder: absent, used (by the capture command), or present but not used by sealcam */
        socH264Encoder: z.enum(['absent', 'used', 'unused']).optional(),
        notes: z.string().optional(),
      })
      .strict(),
    video: z
      .object({
        width: z.number().int().min(320).max(3840).multipleOf(2),
        height: z.number().int().min(240).max(2160).multipleOf(2),
        fps: z.number().min(1).max(60),
        bitrate: z.number().int().min(100_000).max(50_000_000),
        segmentSeconds: z.number().min(0.5).max(60),
        chunkFrames: z.number().int().min(1).max(120),
        /** size padding (PROTOCOL.md §6.5) in `--pad` syntax: off (the default), standard, or chunks=…;segment=… */
        padding: z
          .string()
          .optional()
          .superRefine((spec, ctx) => {
            if (spec === undefined) return;
            try {
              parsePaddingPolicy(spec);
            } catch (e) {
              ctx.addIssue({ code: 'custom', message: e instanceof Error ? e.message : String(e) });
            }
          }),
      })
      .strict(),
    /** on-device motion detection (PROTOCOL.md §16; src/media/motion.ts): off when absent */
    motion: z
      .object({
        enabled: z.boolean(),
        cellSize: z.number().int().min(4).max(64).optional(),
        everyNth: z.number().int().min(1).max(30).optional(),
        noiseFloor: z.number().int().min(1).max(254).optional(),
        minAreaPermille: z.number().int().min(1).max(1000).optional(),
        startFrames: z.number().int().min(1).max(30).optional(),
        quietMs: z.number().int().min(0).max(600_000).optional(),
        adaptShift: z.number().int().min(1).max(10).optional(),
      })
      .strict()
      .optional(),
    spool: z.object({ dir: z.string().min(1), maxBytes: z.number().int().min(1_000_000) }).strict(),
    flash: z.object({ method: z.enum(['rootfs-dir', 'none']), notes: z.string().optional() }).strict(),
    service: z.enum(['systemd', 'none']),
    /** systemd MemoryMax= for the agent, in MiB; required with service "systemd" */
    memoryMaxMB: z.number().int().min(64).optional(),
  })
  .strict()
  .refine((b) => b.service !== 'systemd' || b.memoryMaxMB !== undefined, { message: 'a systemd service needs memoryMaxMB', path: ['memoryMaxMB'] })
  .refine((b) => b.memoryMaxMB === undefined || b.memoryMaxMB < b.ramMB, { message: 'memoryMaxMB must be below ramMB', path: ['memoryMaxMB'] })
  .refine((b) => (b.encoder.strategy === 'passthrough') === (b.capture.format === 'h264'), {
    message: 'passthrough encoding goes with h264 capture, and only with it',
    path: ['encoder', 'strategy'],
  });

export type BoardProfile = z.infer<typeof BoardProfileSchema>;

export const BOARDS_DIR = fileURLToPath(new URL('../../boards/', import.meta.url));

/** Validate a parsed profile; `origin` names it in errors. */
export function parseBoardProfile(json: unknown, origin: string): BoardProfile {
  const result = BoardProfileSchema.safeParse(json);
  if (!result.success) {
    const issue = result.error.issues[0]!;
    const field = issue.path.join('.') || '(top level)';
    throw new SealcamError('E_BOARD_PROFILE', `${origin}: field "${field}": ${issue.message}`);
  }
  return result.data;
}

/** The JSON Schema of a profile file (boards/schema.json), generated from the zod schema. */
export function boardJsonSchema(): Record<string, unknown> {
  return {
    ...z.toJSONSchema(BoardProfileSchema, { io: 'input', unrepresentable: 'any' }),
    $id: 'https://sealcam.invalid/boards/schema.json',
    title: 'sealcam board profile',
  };
}

/** The profile names in `dir` (every *.json but schema.json), sorted. */
export async function listBoardNames(dir = BOARDS_DIR): Promise<string[]> {
  return (await readdir(dir)).filter((f) => f.endsWith('.json') && f !== 'schema.json').map((f) => f.slice(0, -5)).sort();
}

/** Load boards/<name>.json (or a path ending in .json). */
export async function loadBoard(nameOrPath: string, dir = BOARDS_DIR): Promise<BoardProfile> {
  const path = nameOrPath.endsWith('.json') ? nameOrPath : join(dir, `${nameOrPath}.json`);
  if (!nameOrPath.endsWith('.json') && !/^[a-z0-9-]+$/.test(nameOrPath)) throw new SealcamError('E_BOARD_PROFILE', `board name ${JSON.stringify(nameOrPath)} is not a profile name`);
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch {
    const known = (await readdir(dir).catch(() => [] as string[])).filter((f) => f.endsWith('.json') && f !== 'schema.json').map((f) => f.slice(0, -5));
    throw new SealcamError('E_BOARD_PROFILE', `no board profile ${JSON.stringify(nameOrPath)} (known: ${known.join(', ') || 'none'})`);
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (e) {
    throw new SealcamError('E_BOARD_PROFILE', `${path}: not JSON (${(e as Error).message})`);
  }
  return parseBoardProfile(json, path);
}
