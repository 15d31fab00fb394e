import { SealcamError, type ErrorCode } from '../../src/protocol/index.js';

/** The SealcamError code `fn` throws, or undefined if it returns. Any other throw propagates. */
export function codeOf(fn: () => unknown): ErrorCode | undefined {
  try {
    fn();
  } catch (e) {
    if (SealcamError.is(e)) return e.code;
    throw e;
  }
  return undefined;
}
