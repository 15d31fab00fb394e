/**
 * The one error type of sealcam. Every rejection carries a stable string code from
 * `ErrorCode`; callers branch on `SealcamError.is(e, 'E_REPLAY')`, never on messages.
 * The codes are part of the wire contract: docs/PROTOCOL.md §9 lists them and
 * test/vectors/*.json names the code each invalid case must raise.
 */

export const ERROR_CODES = [
  // §9.1 argument misuse by the calling program (never caused by wire input)
  'E_BAD_ARGUMENT',
  // §9.2 parsing (any wire format)
  'E_MALFORMED',
  'E_BAD_MAGIC',
  'E_UNSUPPORTED_VERSION',
  'E_UNKNOWN_FLAGS',
  'E_UNKNOWN_KIND',
  // §9.3 keys
  'E_LOW_ORDER_POINT',
  'E_BAD_KEY',
  // §9.4 segment verification, in the order they are checked (§6.3)
  'E_FOREIGN_CAMERA',
  'E_BAD_SIGNATURE',
  'E_REPLAY',
  'E_REORDERED',
  'E_FORWARD_JUMP',
  'E_EPOCH_ROLLBACK',
  'E_UNKNOWN_EPOCH',
  'E_DECRYPT',
  'E_INNER_HEADER',
  // §9.5 stream ends
  'E_TRUNCATED',
  // §9.6 live chunks
  'E_LIVE_INCOMPLETE',
  'E_STALE_LIVE',
  // §9.7 epoch announcements and rosters
  'E_NOT_ON_ROSTER',
  'E_STALE_EPOCH',
  'E_ROSTER_SIGNATURE',
  'E_STALE_ROSTER',
  'E_ROSTER_LAGGING',
  // §9.8 transport chunking
  'E_CHUNK_HEADER',
  'E_CHUNK_MISMATCH',
  'E_REASSEMBLY_LIMIT',
  // §9.9 media and capture (src/media, src/device): bad input from cameras and files
  'E_MEDIA_HEADER',
  'E_UNSUPPORTED_PIXEL_FORMAT',
  'E_TRUNCATED_INPUT',
  'E_RESOLUTION_MISMATCH',
  'E_CAPTURE_FAILED',
  'E_BITSTREAM',
  'E_ENCODER',
  // §9.10 device configuration
  'E_BOARD_PROFILE',
  'E_CONFIG',
  'E_NOT_PAIRED',
  // §3 pairing
  'E_QR_FORMAT',
  'E_QR_CHECKSUM',
  'E_PAIRING_MAC',
  'E_PAIRING_REUSED',
  'E_PAIRING_EXPIRED',
  'E_PAIRING_COMMITMENT',
  // §9.11 firmware images and updates
  'E_FIRMWARE_FORMAT',
  'E_FIRMWARE_UNSIGNED',
  'E_FIRMWARE_SIGNATURE',
  'E_FIRMWARE_HASH',
  'E_FIRMWARE_BOARD',
  'E_FIRMWARE_DOWNGRADE',
  'E_FLASH_TARGET',
  'E_HEALTH_CHECK',
  // §9.12 relay, accounts and uploads
  'E_AUTH',
  'E_ACL',
  'E_STORE',
  'E_SPOOL',
  'E_BROKER',
  // §9.12 broker limits and login guards (§11.3)
  'E_RATE_LIMITED',
  'E_OVERLOADED',
  'E_TOO_LARGE',
  'E_RETAINED_LIMIT',
  'E_SLOW_CONSUMER',
  'E_CLIENT_ID',
  // §9.12 the relay as a shared service: quotas, its data directory, the history HTTP API
  'E_QUOTA',
  'E_DATA_DIR',
  'E_BAD_REQUEST',
  'E_NOT_FOUND',
  'E_GONE',
  // §9.12 / §15.8 TLS: the relay presents a key other than the pinned one
  'E_RELAY_PIN',
  // (HTTP 500 uses E_INTERNAL, §9.14)
  // §9.14 the command line: what a person can act on
  'E_RELAY_UNREACHABLE',
  'E_RELAY_REPLY',
  'E_FILE',
  'E_INTERNAL',
] as const;

export type ErrorCode = (typeof ERROR_CODES)[number];

export class SealcamError extends Error {
  override readonly name = 'SealcamError';
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(`${code}: ${message}`, options);
    this.code = code;
  }

  /** Type guard in the style of libsignal's `LibSignalErrorBase.is(e, code)`. */
  static is(e: unknown, code?: ErrorCode): e is SealcamError {
    return e instanceof SealcamError && (code === undefined || e.code === code);
  }
}

/** Throw `code` unless `cond` holds. */
export function ensure(cond: unknown, code: ErrorCode, message: string): asserts cond {
  if (!cond) throw new SealcamError(code, message);
}
