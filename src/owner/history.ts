/**
 * The viewer's history path: fetch a camera's epoch announcements and sealed segments from the
 * relay's HTTP API and open them in seq order, in the protocol's verification order (the Viewer
 * refuses a camera it has not pinned with E_FOREIGN_CAMERA before touching a key). Rejected
 * segments and gaps are reported, never spliced silently.
 */
import { z } from 'zod';
import { relayJson } from '../media/relay-http.js';
import { accountGet, listAccountCameras } from './relay-api.js';
import { SealcamError, concatBytes, decodeEvent, equalBytes, hiddenTail, rosterLag, type AnnouncementInfo, type ErrorCode, type ExpectedRoster, type MotionEventRecord, type Viewer } from '../protocol/index.js';

export interface RelayLogin {
  /** http(s)://host:port of the relay's API */
  httpUrl: string;
  account: string;
  username: string;
  password: string;
  /** the relay's pinned key (`sha256/…`, §15.8), set by `owner login` for a TLS relay */
  fingerprint?: string;
}

export interface HistoryResult {
  cameraId: string;
  segmentsListed: number;
  /** every segment opened, with the capture time the camera signed (ms since the Unix epoch) */
  opened: { seq: number; kind: 'init' | 'media' | 'event'; bytes: number; epoch: number; captureTime: number; durationMs: number }[];
  /** motion events (kind-3 segments, §16), verified and opened like video */
  events: HistoryEvent[];
  rejected: { seq: number; code: ErrorCode }[];
  announcementsRejected: { epoch: number; code: ErrorCode }[];
  gaps: { from: number; to: number }[];
  /** init + media of the last run (a camera restart starts a new init segment) */
  mp4: Uint8Array;
  /** the stream ends without FINAL, or before a seq this viewer has already seen */
  truncated: boolean;
  /** set when the history ends below `knownHighestSeq`: the relay hid (or lost) the tail */
  tailMissing: { historyEndsAt: number | null; seenUpTo: number } | null;
  /** E_ROSTER_LAGGING: the newest announcement is not wrapped for the roster the owner signed */
  rosterLag: string | null;
}

export interface HistoryOptions {
  since?: number;
  until?: number;
  /** the highest seq this viewer has seen before (live or an earlier fetch): the history must reach it */
  knownHighestSeq?: number | null;
  /** the roster the owner last signed for this camera (§5.5) */
  expectedRoster?: ExpectedRoster;
  /** cut the file to the media segments firstSeq..lastSeq of one run (an event's clip) */
  clip?: { firstSeq: number; lastSeq: number };
  /** fetch and open only the motion events (kind 3, §16): no file, no truncation check */
  eventsOnly?: boolean;
}

export interface HistoryEvent extends Omit<MotionEventRecord, 'thumbnail'> {
  /** the event segment's own seq */
  seq: number;
  thumbnailPng: Uint8Array | null;
}

const Epoch = z.object({ epoch: z.number().int().positive() }).loose();
const Segment = z.object({ seq: z.number().int().nonnegative(), kind: z.string().optional() }).loose();

/** Every item of a listing, following the relay's pages (`{items, next}`, `after=next`); a bare array is one page. */
async function listAll<T>(login: RelayLogin, path: string, item: z.ZodType<T>, what: string): Promise<T[]> {
  const Page = z.union([z.array(item), z.object({ items: z.array(item), next: z.number().int().nonnegative().nullable() })]);
  const all: T[] = [];
  for (let after: number | null = null; ; ) {
    const sep = path.includes('?') ? '&' : '?';
    const page: T[] | { items: T[]; next: number | null } = await relayJson(await accountGet(login, after === null ? path : `${path}${sep}after=${after}`), Page, what);
    if (Array.isArray(page)) return page;
    all.push(...page.items);
    if (page.next === null || page.next === after) return all;
    after = page.next;
  }
}

export async function listCameras(login: RelayLogin): Promise<string[]> {
  return listAccountCameras(login);
}

/** How many segments the relay lists for a camera of this account (metadata only; nothing is fetched or opened). */
export async function countSegments(login: RelayLogin, cameraId: string): Promise<number> {
  return (await listAll(login, `/cameras/${cameraId}/segments`, Segment, 'GET segments')).length;
}

const bytesOf = async (login: RelayLogin, path: string) => new Uint8Array(await (await accountGet(login, path)).arrayBuffer());

export async function fetchHistory(login: RelayLogin, viewer: Viewer, cameraId: string, range: HistoryOptions = {}): Promise<HistoryResult> {
  const result: HistoryResult = { cameraId, segmentsListed: 0, opened: [], events: [], rejected: [], announcementsRejected: [], gaps: [], mp4: new Uint8Array(0), truncated: false, tailMissing: null, rosterLag: null };
  let newest: AnnouncementInfo | null = null;
  for (const { epoch } of await listAll(login, `/cameras/${cameraId}/keys`, Epoch, 'GET keys')) {
    const bytes = await bytesOf(login, `/cameras/${cameraId}/keys/${epoch}`);
    try {
      const info = viewer.view(hexToBytes(cameraId)).addAnnouncement(bytes);
      if (!newest || info.epoch > newest.epoch) newest = info;
    } catch (e) {
      if (!SealcamError.is(e)) throw e;
      result.announcementsRejected.push({ epoch, code: e.code });
    }
  }
  if (newest && range.expectedRoster) result.rosterLag = rosterLag(newest, range.expectedRoster);
  const query = new URLSearchParams();
  if (range.since !== undefined) query.set('since', String(range.since));
  if (range.until !== undefined) query.set('until', String(range.until));
  const listed = await listAll(login, `/cameras/${cameraId}/segments?${query}`, Segment, 'GET segments');
  // The listing names each envelope's public kind: events alone need only their own segments.
  const list = range.eventsOnly ? listed.filter((s) => s.kind === 'event') : listed;
  result.segmentsListed = list.length;
  // A playable file (PROTOCOL.md §15): the init and media of one run, in seq order. The camera
  // seals its init again after every epoch rotation; an identical init continues the run, a
  // different one starts a new run, and media before any init of its run cannot play.
  const runs: { init: Uint8Array; media: { seq: number; bytes: Uint8Array }[] }[] = [];
  for (const { seq } of list) {
    const envelope = await bytesOf(login, `/cameras/${cameraId}/segments/${seq}`);
    try {
      const o = viewer.openSegment(envelope);
      if (o.verdict.kind === 'gap') result.gaps.push({ from: o.verdict.missingFrom, to: o.verdict.missingTo });
      const run = runs.at(-1);
      if (o.header.kind === 'init') {
        if (!run || !equalBytes(run.init, o.payload)) runs.push({ init: o.payload, media: [] });
      } else if (o.header.kind === 'event') {
        const { thumbnail, ...record } = decodeEvent(o.payload);
        result.events.push({ seq, ...record, thumbnailPng: thumbnail?.bytes ?? null });
      } else if (run) {
        run.media.push({ seq, bytes: o.payload });
      }
      result.opened.push({ seq, kind: o.header.kind, bytes: o.payload.length, epoch: o.header.epoch, captureTime: o.header.captureTime, durationMs: o.header.durationMs });
    } catch (e) {
      if (!SealcamError.is(e)) throw e;
      result.rejected.push({ seq, code: e.code });
    }
  }
  result.mp4 = playable(runs, range.clip);
  if (range.eventsOnly) return result;
  try {
    if (result.opened.length) viewer.view(hexToBytes(cameraId)).stream.assertComplete();
  } catch (e) {
    if (!SealcamError.is(e, 'E_TRUNCATED')) throw e;
    result.truncated = true;
  }
  // §8.4: a viewer remembers the newest seq it has seen; a history that stops below it was cut,
  // even when its last segment carries FINAL (a relay hiding whole runs after a clean end).
  const tail = range.until === undefined ? hiddenTail(list.length ? list[list.length - 1]!.seq : null, range.knownHighestSeq ?? null) : null;
  if (tail) {
    result.tailMissing = tail;
    result.truncated = true;
  }
  return result;
}

/** The file of the last run, or with `clip` of the run holding its segments, cut to them (§15.7). */
function playable(runs: { init: Uint8Array; media: { seq: number; bytes: Uint8Array }[] }[], clip?: { firstSeq: number; lastSeq: number }): Uint8Array {
  const run = clip ? runs.find((r) => r.media.some((m) => m.seq >= clip.firstSeq && m.seq <= clip.lastSeq)) : runs.at(-1);
  const media = (run?.media ?? []).filter((m) => !clip || (m.seq >= clip.firstSeq && m.seq <= clip.lastSeq));
  return run && media.length ? concatBytes(run.init, ...media.map((m) => m.bytes)) : new Uint8Array(0);
}

/** The motion events as a person reads them. */
export function describeEvents(events: HistoryEvent[], rejected: { seq: number; code: ErrorCode }[], thumbnailsDir?: string): string {
  const lines = [`${events.length} motion event${events.length === 1 ? '' : 's'} (verified and decrypted; times are the camera's signed capture times)`];
  for (const e of events) {
    lines.push(
      `  event ${e.seq}: ${new Date(e.startTime).toISOString()}, ${((e.endTime - e.startTime) / 1000).toFixed(1)} s of motion, up to ${(e.peakPermille / 10).toFixed(1)} % of the picture moving; segments ${e.firstSeq}..${e.lastSeq}` +
        (e.thumbnailPng && thumbnailsDir ? `; thumbnail ${thumbnailsDir}/event-${e.seq}.png` : ''),
    );
  }
  if (rejected.length) lines.push(`  rejected ${rejected.map((r) => `seq ${r.seq}: ${r.code}`).join(', ')}`);
  if (events.length) lines.push(`  a clip: sealcam view --event ${events.at(-1)!.seq} --out clip.mp4 (with --home and --camera)`);
  return `${lines.join('\n')}\n`;
}

/** The history summary as a person reads it: what plays, from when to when, and what did not. */
export function describeHistory(file: string, frames: number, h: HistoryResult): string {
  const iso = (ms: number) => new Date(ms).toISOString();
  const media = h.opened.filter((o) => o.kind === 'media');
  const lines = [
    `${file}: ${frames} frames decoded from ${h.opened.length} of ${h.segmentsListed} segments`,
    media.length ? `  captured ${iso(media[0]!.captureTime)} to ${iso(media.at(-1)!.captureTime + media.at(-1)!.durationMs)} (the camera's signed capture times)` : '  no media segment opened',
    `  rejected ${h.rejected.map((r) => `seq ${r.seq}: ${r.code}`).join(', ') || 'none'}`,
    `  gaps ${h.gaps.map((g) => `${g.from}..${g.to}`).join(', ') || 'none'}`,
  ];
  if (h.tailMissing) lines.push(`  E_TRUNCATED: the history ends at seq ${h.tailMissing.historyEndsAt ?? 'none'}, but this viewer has already seen seq ${h.tailMissing.seenUpTo}: the relay hid or lost the newest segments`);
  else if (h.truncated) lines.push('  the stream ends without a FINAL segment (camera still running, or cut off)');
  if (h.rosterLag) lines.push(`  ALARM E_ROSTER_LAGGING: ${h.rosterLag}`);
  return `${lines.join('\n')}\n`;
}

function hexToBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
