/** Reads the V8 CPU profiles (`node --cpu-prof`) in a folder: self time by package and the hottest functions. */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
}
interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

/** `node_modules/<package>`, `node:<module>`, `gatehouse` for the compiled build, or V8's own entries ((garbage collector), (program)…). */
function origin(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : `(native) ${name}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (pkg) return pkg[1];
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0]}`;
  if (url.includes('/dist/')) return 'gatehouse';
  return path.basename(url);
}

export function summarizeProfile(dir: string, top = 20): string[] {
  const files = readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));
  const lines: string[] = [];
  for (const file of files) {
    const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
    const nodes = new Map(profile.nodes.map((n) => [n.id, n]));
    const byOrigin = new Map<string, number>();
    const byFunction = new Map<string, number>();
    let total = 0;
    profile.samples.forEach((id, i) => {
      const micros = profile.timeDeltas[i] ?? 0;
      const { callFrame } = nodes.get(id)!;
      if (callFrame.functionName === '(idle)') return;
      total += micros;
      const where = origin(callFrame.url, callFrame.functionName);
      byOrigin.set(where, (byOrigin.get(where) ?? 0) + micros);
      const fn = `${callFrame.functionName || '(anonymous)'} ${where}:${callFrame.lineNumber + 1}`;
      byFunction.set(fn, (byFunction.get(fn) ?? 0) + micros);
    });
    const share = (micros: number) => `${((100 * micros) / total).toFixed(1).padStart(5)} %`;
    lines.push(`${file}: ${(total / 1e6).toFixed(1)} s of CPU (idle excluded)`);
    for (const [name, micros] of [...byOrigin].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${share(micros)}  ${name}`);
    lines.push('  hottest functions:');
    for (const [name, micros] of [...byFunction].sort((a, b) => b[1] - a[1]).slice(0, top)) lines.push(`  ${share(micros)}  ${name}`);
  }
  return lines;
}
