/**
 * What a process costs, read from Linux's /proc: CPU time (user + system, all threads, in ms),
 * resident memory now and its high-water mark. The servers run in processes of their own, so
 * these figures are theirs alone, whatever else the (shared) machine is doing.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import type { Client } from 'pg';

/** Clock ticks per second of /proc/<pid>/stat (USER_HZ, 100 on Linux). */
const TICK_MS = 10;

/** CPU time the process has used so far, in ms; null once it has gone. */
export function cpuMs(pid: number): number | null {
  try {
    // Fields after the command name (which may hold spaces): utime is the 14th field, stime the 15th.
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
  } catch {
    return null;
  }
}

/** Resident memory (MB): now, and the most since the start or the last resetPeak. */
export function memory(pid: number): { rss: number; peak: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string) => Number(new RegExp(`^${name}:\\s+(\\d+) kB`, 'm').exec(status)?.[1] ?? NaN);
  return { rss: kb('VmRSS') / 1024, peak: kb('VmHWM') / 1024 };
}

/** Resets the process's peak resident memory (VmHWM) to its current RSS; false where Linux does not allow it. */
export function resetPeak(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/**
 * CPU time of the PostgreSQL backends serving one database, from /proc (the server runs on
 * this machine): backends found in pg_stat_activity, each read from /proc/<pid>/stat. A
 * backend that exits during a run takes its CPU time with it; pools keep their connections
 * while they are busy, so that loses little.
 */
export class PostgresCpu {
  constructor(private readonly admin: Client) {}

  async snapshot(database: string): Promise<Map<number, number>> {
    const { rows } = await this.admin.query<{ pid: number }>(
      'select pid from pg_stat_activity where datname = $1 and pid <> pg_backend_pid()',
      [database],
    );
    const out = new Map<number, number>();
    for (const { pid } of rows) {
      const cpu = cpuMs(pid);
      if (cpu !== null) out.set(pid, cpu);
    }
    return out;
  }

  /** CPU ms the backends used between two snapshots (a backend new in `after` counts from zero). */
  static between(before: Map<number, number>, after: Map<number, number>): number {
    let total = 0;
    for (const [pid, cpu] of after) total += cpu - (before.get(pid) ?? 0);
    return total;
  }
}
