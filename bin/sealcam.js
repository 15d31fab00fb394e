#!/usr/bin/env node
// Entry point for the `sealcam` bin: runs the TypeScript CLI through tsx's loader.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/index.ts');
// A failed command exits at once (with the code it set), whatever it left open.
if (await main(process.argv)) process.exit();
