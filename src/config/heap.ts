import { setFlagsFromString } from 'node:v8';

/**
 * The server's heap, in two phases (bench/README.md, "Memory"). While it starts,
 * `bin/gatehouse.js serve` keeps V8's young generation at its initial size (start-up garbage
 * would otherwise grow it to 2 × 16 MB, resident ever after) and grows the old generation to
 * twice the live heap rather than up to four times. Once ready, the young generation may grow
 * again as load asks for it: under load a small one promotes each request's objects to the old
 * generation, for more CPU per request than the memory it saves.
 */
export function letYoungGenerationGrow(): void {
  setFlagsFromString('--semi-space-growth-factor=2');
}
