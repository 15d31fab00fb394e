/** The native binding of @mongodb-js/zstd 1.2.2: unlike the package's main export, it honours the level. */
declare module '@mongodb-js/zstd/bindings.js' {
  export function compress(data: Buffer, level?: number): Promise<Buffer>;
  export function decompress(data: Buffer): Promise<Buffer>;
}
