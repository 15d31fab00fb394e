/** src/protocol: the pure core. No I/O, no clock; randomness only through a passed RandomSource. */
export * from './errors.js';
export * from './bytes.js';
export * from './primitives.js';
export * from './identity.js';
export * from './roster.js';
export * from './epoch.js';
export * from './envelope.js';
export * from './seal.js';
export * from './padding.js';
export * from './event.js';
export * from './stream-state.js';
export * from './open.js';
export * from './transport-chunk.js';
export * from './topics.js';
export * from './describe.js';
export * from './pairing.js';
export * from './live-session.js';
