/**
 * The viewer's history path: fetch a camera's epoch announcements and sealed segments from the
 * relay's HTTP API and open them in seq order, in the protocol's verification order (the Viewer
 * refuses a camera it has not pinned with E_FOREIGN_CAMERA before touching a key). Rejected
 * segments and gaps are reported, never spliced silently.
 */
import { SealcamError, concatBytes, type ErrorCode, type Viewer } from '../protocol/index.js';

export interface RelayLogin {
  /** http://host:port of the relay's API */
  httpUrl: string;
  account: string;
  username: string;
  password: string;
}

export interface HistoryResult {
  cameraId: string;
  segmentsListed: number;
  opened: { seq: number; kind: 'init' | 'media'; bytes: number }[];
  rejected: { seq: number; code: ErrorCode }[];
  announcementsRejected: { epoch: number; code: ErrorCode }[];
  gaps: { from: number; to: number }[];
  /** init + media of the last run (a camera restart starts a new init segment) */
  mp4: Uint8Array;
  truncated: boolean;
}

async function get(login: RelayLogin, path: string): Promise<Response> {
  const res = await fetch(`${login.httpUrl}/v1/accounts/${login.account}${path}`, {
    headers: { authorization: `Basic ${Buffer.from(`${login.username}:${login.password}`).toString('base64')}` },
  });
  if (!res.ok) throw new SealcamError('E_AUTH', `relay history API ${path}: HTTP ${res.status} ${await res.text()}`);
  return res;
}

export async function listCameras(login: RelayLogin): Promise<string[]> {
  return ((await (await get(login, '/cameras')).json()) as { camera: string }[]).map((c) => c.camera);
}

export async function fetchHistory(login: RelayLogin, viewer: Viewer, cameraId: string, range: { since?: number; until?: number } = {}): Promise<HistoryResult> {
  const result: HistoryResult = { cameraId, segmentsListed: 0, opened: [], rejected: [], announcementsRejected: [], gaps: [], mp4: new Uint8Array(0), truncated: false };
  for (const { epoch } of (await (await get(login, `/cameras/${cameraId}/keys`)).json()) as { epoch: number }[]) {
    const bytes = new Uint8Array(await (await get(login, `/cameras/${cameraId}/keys/${epoch}`)).arrayBuffer());
    try {
      viewer.view(hexToBytes(cameraId)).addAnnouncement(bytes);
    } catch (e) {
      if (!SealcamError.is(e)) throw e;
      result.announcementsRejected.push({ epoch, code: e.code });
    }
  }
  const query = new URLSearchParams();
  if (range.since !== undefined) query.set('since', String(range.since));
  if (range.until !== undefined) query.set('until', String(range.until));
  const list = (await (await get(login, `/cameras/${cameraId}/segments?${query}`)).json()) as { seq: number }[];
  result.segmentsListed = list.length;
  let run: Uint8Array[] = [];
  for (const { seq } of list) {
    const envelope = new Uint8Array(await (await get(login, `/cameras/${cameraId}/segments/${seq}`)).arrayBuffer());
    try {
      const o = viewer.openSegment(envelope);
      if (o.verdict.kind === 'gap') result.gaps.push({ from: o.verdict.missingFrom, to: o.verdict.missingTo });
      if (o.header.kind === 'init') run = [];
      run.push(o.payload);
      result.opened.push({ seq, kind: o.header.kind, bytes: o.payload.length });
    } catch (e) {
      if (!SealcamError.is(e)) throw e;
      result.rejected.push({ seq, code: e.code });
    }
  }
  result.mp4 = concatBytes(...run);
  try {
    if (result.opened.length) viewer.view(hexToBytes(cameraId)).stream.assertComplete();
  } catch (e) {
    if (!SealcamError.is(e, 'E_TRUNCATED')) throw e;
    result.truncated = true;
  }
  return result;
}

function hexToBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}
