/**
 * Every rejection and alarm in words a person understands (issue 13, "rejections are explained").
 * The page shows these, never a raw error or a stack trace; the stable code goes beside them in
 * small print so support can match it to PROTOCOL.md.
 */
export const EXPLAIN: Record<string, string> = {
  E_FOREIGN_CAMERA: 'this video is from a camera you have not paired — nothing was decrypted',
  E_BAD_SIGNATURE: 'a piece of video was not signed by your camera — rejected',
  E_UNKNOWN_EPOCH: 'no key for this video (you may have been removed from the camera)',
  E_NOT_ON_ROSTER: 'the camera did not give this phone a key for this video',
  E_REPLAY: 'video this viewer has already been shown was sent again (a replayed recording) — not shown as live',
  E_STALE_LIVE: 'video captured too long ago (or dated in the future) arrived as live — an old recording is not shown as live; if this persists, check the camera\'s and this phone\'s clocks',
  E_REORDERED: 'video arrived out of order (older than what is already shown) — skipped',
  E_FORWARD_JUMP: 'a segment number jumps implausibly far ahead — rejected',
  E_EPOCH_ROLLBACK: 'a segment is sealed under an older key than one already seen — rejected',
  E_DECRYPT: 'a piece of video could not be decrypted (altered on the way) — rejected',
  E_INNER_HEADER: 'a piece of video does not belong where it claims to — rejected',
  E_LIVE_INCOMPLETE: 'the camera\'s seal arrived for video this phone did not all receive — that part stays unconfirmed',
  E_ROSTER_LAGGING: 'the camera is still using keys for an older viewer list: a viewer you removed may still be able to watch',
  E_MALFORMED: 'something that is not sealcam video arrived — ignored',
  E_BAD_MAGIC: 'something that is not sealcam video arrived — ignored',
  E_TRUNCATED: 'a message was cut short — ignored',
  E_BITSTREAM: 'a decrypted piece is not valid video — skipped',
  E_AUTH: 'the relay refused the login: check the account, user name and password',
  E_RATE_LIMITED: 'the relay refused too many logins from here: wait a minute and try again',
  E_RELAY_UNREACHABLE: 'the relay cannot be reached: check the address and the network',
  E_RELAY_REPLY: 'the relay answered something this app does not understand',
  E_PAIRING_EXPIRED: 'no camera answered before the code expired: show a new code to the camera',
  E_PAIRING_REUSED: 'this pairing code was already used: show a new code',
  E_PAIRING_COMMITMENT: 'someone other than the camera answered the pairing code: nothing was paired; show a new code',
  E_PAIRING_MAC: 'an answer for another owner arrived: nothing was paired',
  E_QR_FORMAT: 'that is not a sealcam viewer code',
  E_QR_CHECKSUM: 'that code was misread or altered: scan or paste it again',
  E_BAD_ARGUMENT: 'that cannot be done',
  E_CONFIG: 'this phone has no owner identity yet',
};

/** The plain-words explanation of `code`, with the code for reference. */
export function explain(code: string): string {
  return `${EXPLAIN[code] ?? 'rejected'} (${code})`;
}
