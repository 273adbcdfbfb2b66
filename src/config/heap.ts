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

/**
 * WebAssembly compiled by V8's baseline compiler (Liftoff) only, never optimised (TurboFan), for a
 * server on PostgreSQL (bench/README.md, "Memory"). Its only WebAssembly is then the HTTP parser of
 * Node's `fetch` (undici's llhttp), first used by single sign-on's discovery at start. Optimising
 * it takes ~30 MB of compiler memory on V8's worker threads, and glibc keeps up to 9 MB of it
 * resident in those threads' malloc arenas for good. The baseline code costs under 0.1 ms more CPU
 * per `fetch` (a sign-in makes one or two). Not for the embedded
 * database (PGlite), a whole PostgreSQL compiled to WebAssembly, which needs the optimised code.
 * Takes effect for modules compiled after the call.
 */
export function compileWebAssemblyBaselineOnly(): void {
  setFlagsFromString('--liftoff-only');
}
