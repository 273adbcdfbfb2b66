import fs from 'node:fs';
import path from 'node:path';

/** A running embedded PostgreSQL (PGlite) reachable over loopback TCP. */
export interface EmbeddedPostgres {
  /** `postgres://…` URL for the pool to connect to. */
  readonly url: string;
  readonly dataDir: string;
  stop(): Promise<void>;
}

/**
 * Starts PGlite on `dataDir` (created if missing, so data survives restarts) behind a
 * pglite-socket server on 127.0.0.1 with an ephemeral port.
 *
 * PGlite has a single backend session that every socket shares: a query sent on a second
 * connection while another holds a transaction waits for that transaction. The pool in front
 * of it therefore has exactly one connection (see `orm.ts`).
 *
 * PGlite has no locking of its own, and two processes writing one data directory corrupt it;
 * so the directory is held through `<dataDir>.lock` (see `lockDataDir`) until `stop()`.
 */
export async function startEmbeddedPostgres(dataDir: string): Promise<EmbeddedPostgres> {
  fs.mkdirSync(path.dirname(dataDir), { recursive: true });
  const lock = lockDataDir(dataDir);
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
    // PGlite builds its extensions in only when asked; the migrations create pg_trgm (user search).
    const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
    const db = await PGlite.create({ dataDir, extensions: { pg_trgm } });
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: 2 });
    try {
      await server.start();
    } catch (error) {
      await db.close().catch(() => undefined);
      throw error;
    }
    return {
      url: `postgres://postgres@${server.getServerConn()}/postgres`,
      dataDir,
      async stop() {
        try {
          await server.stop();
          await db.close();
        } finally {
          lock.release();
        }
      },
    };
  } catch (error) {
    lock.release();
    throw error;
  }
}

/** The embedded data directory is open in another live process. */
export class DataDirInUseError extends Error {
  constructor(
    readonly dataDir: string,
    readonly pid: number,
  ) {
    super(`it is in use by another Gatehouse process (pid ${pid}); stop that process, or set DATABASE_URL to use PostgreSQL`);
    this.name = 'DataDirInUseError';
  }
}

/**
 * Takes `<dataDir>.lock`, a file holding this process's pid, created exclusively. A lock left
 * behind by a process that no longer runs (killed, crashed) is taken over; one held by a live
 * process is refused with DataDirInUseError. The lock is removed by `release()`, and at the
 * latest when this process exits.
 */
export function lockDataDir(dataDir: string): { readonly file: string; release(): void } {
  const file = `${dataDir}.lock`;
  const mine = String(process.pid);
  // The pid is written to a file of our own first and then linked into place: link() is
  // atomic and fails when the lock exists, so nobody ever reads a half-written lock.
  const draft = `${file}.${mine}`;
  fs.writeFileSync(draft, mine);
  try {
    for (let attempt = 0; ; attempt++) {
      try {
        fs.linkSync(draft, file);
        break;
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 2) throw error;
      }
      const holder = readPid(file);
      if (holder !== null && isRunning(holder)) throw new DataDirInUseError(dataDir, holder);
      // Stale: its process is gone (killed, crashed), so its lock is taken over.
      fs.rmSync(file, { force: true });
    }
  } finally {
    fs.rmSync(draft, { force: true });
  }
  const releaseAtExit = () => removeIfMine(file, mine);
  process.once('exit', releaseAtExit);
  let released = false;
  return {
    file,
    release() {
      if (released) return;
      released = true;
      process.removeListener('exit', releaseAtExit);
      removeIfMine(file, mine);
    },
  };
}

function readPid(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it exists but belongs to someone else, so it is running.
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function removeIfMine(file: string, mine: string): void {
  try {
    if (fs.readFileSync(file, 'utf8').trim() === mine) fs.rmSync(file, { force: true });
  } catch {
    // Already gone.
  }
}
