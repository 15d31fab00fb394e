/** Argument parsers shared by the command groups: each refuses a bad value with a message that says what was expected. */
import { InvalidArgumentError } from 'commander';
import { SealcamError } from '../protocol/errors.js';

/** A comma-separated list of URLs, each with one of `schemes` (`nats`, `mqtts`, …); E_BAD_ARGUMENT otherwise. */
export function urlsOf(value: string, schemes: readonly string[], name: string): string[] {
  const urls = value.split(',').map((u) => u.trim()).filter(Boolean);
  if (urls.length === 0) throw new SealcamError('E_BAD_ARGUMENT', `${name}: expected ${schemes.join(' or ')}:// URLs, separated by commas`);
  for (const url of urls) if (!schemes.some((s) => url.startsWith(`${s}://`))) throw new SealcamError('E_BAD_ARGUMENT', `${name}: expected ${schemes.join(' or ')}:// URLs, got ${JSON.stringify(url)}`);
  return urls;
}

export function positiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

export function positiveNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('expected a positive number');
  return n;
}

/** A duration in seconds, > 0 and at most `max`. */
export function seconds(max = Number.POSITIVE_INFINITY): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isFinite(n) || n <= 0 || n > max) throw new InvalidArgumentError(`expected a positive number of seconds${Number.isFinite(max) ? ` up to ${max}` : ''}`);
    return n;
  };
}

export function integerIn(min: number, max: number, expected = `an integer in ${min}..${max}`): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < min || n > max) throw new InvalidArgumentError(`expected ${expected}`);
    return n;
  };
}

export const port = integerIn(0, 65535, 'a port number (0 picks a free one)');

/** An ISO date or ms since the Unix epoch. */
export function time(value: string): number {
  const n = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('expected an ISO date or ms since the Unix epoch');
  return n;
}

/** A relay's HTTP API URL (http or https, no trailing slash); E_CONFIG for anything else. */
export function relayUrl(value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new SealcamError('E_CONFIG', `--relay ${JSON.stringify(value)} is not a URL: expected the relay's HTTP API, e.g. http://127.0.0.1:8080`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new SealcamError('E_CONFIG', `--relay ${value}: expected an http:// or https:// URL (the relay's HTTP API, not its MQTT port)`);
  return value.replace(/\/+$/, '');
}
