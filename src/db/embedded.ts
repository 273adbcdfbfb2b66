import fs from 'node:fs';
import path from 'node:path';
import { SessionQueue } from './embedded-session';

/** A running embedded PostgreSQL (PGlite) reachable over loopback TCP. */
export interface EmbeddedPostgres {
  /** `postgres://…` URL for the pool to connect to. */
  readonly url: string;
  readonly dataDir: string;
  /**
   * Records where this database listens (`<dataDir>.server.json`, beside the lock), so that
   * `gatehouse` commands run while this process holds the data directory connect through it
   * instead of being refused. Removed by `stop()`, and at the latest when this process exits.
   */
  announce(): void;
  stop(): Promise<void>;
}

/** Where a process holding an embedded data directory listens, as recorded by `announce()`. */
export interface EmbeddedServerRecord {
  readonly pid: number;
  readonly host: string;
  readonly port: number;
}

/**
 * How many connections the socket server accepts: the holder's pool (one connection) and the
 * `gatehouse` commands run beside it. All share PGlite's single backend session, which
 * `SessionQueue` gives a connection for a whole transaction or extended-protocol exchange.
 */
const MAX_CONNECTIONS = 8;

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
  // Whoever wrote a record is gone now that the lock is ours: it crashed before removing it.
  fs.rmSync(serverRecordFile(dataDir), { force: true });
  try {
    const { PGlite } = await import('@electric-sql/pglite');
    const { PGLiteSocketServer } = await import('@electric-sql/pglite-socket');
    // PGlite builds its extensions in only when asked; the migrations create pg_trgm (user search).
    const { pg_trgm } = await import('@electric-sql/pglite/contrib/pg_trgm');
    const db = await PGlite.create({ dataDir, extensions: { pg_trgm } });
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: MAX_CONNECTIONS });
    // The library's queue lets another connection in between a Parse and its Bind (see SessionQueue);
    // its connections take the server's queue when they connect, so it is replaced before start.
    (server as unknown as { queryQueue: SessionQueue }).queryQueue = new SessionQueue(db);
    try {
      await server.start();
    } catch (error) {
      await db.close().catch(() => undefined);
      throw error;
    }
    const [host, port] = splitHostPort(server.getServerConn());
    let withdraw: () => void = () => undefined;
    return {
      url: `postgres://postgres@${server.getServerConn()}/postgres`,
      dataDir,
      announce() {
        withdraw();
        withdraw = announceServer(dataDir, { pid: process.pid, host, port });
      },
      async stop() {
        try {
          // First, so that no command starts connecting to a server that is going away.
          withdraw();
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

/** The file recording where the holder of `dataDir` listens, next to its lock. */
export function serverRecordFile(dataDir: string): string {
  return `${dataDir}.server.json`;
}

/**
 * Writes the record atomically (a file of our own renamed into place, so a reader never sees
 * half of it), readable by its owner only; returns what removes it, which also runs at exit.
 */
function announceServer(dataDir: string, record: EmbeddedServerRecord): () => void {
  const file = serverRecordFile(dataDir);
  const draft = `${file}.${process.pid}`;
  fs.writeFileSync(draft, JSON.stringify(record) + '\n', { mode: 0o600 });
  fs.renameSync(draft, file);
  const remove = () => {
    if (readServerRecord(dataDir)?.pid === record.pid) fs.rmSync(file, { force: true });
  };
  process.once('exit', remove);
  return () => {
    process.removeListener('exit', remove);
    remove();
  };
}

/** The record as written, or null when there is none or it is not one. */
function readServerRecord(dataDir: string): EmbeddedServerRecord | null {
  let parsed: Partial<EmbeddedServerRecord>;
  try {
    parsed = JSON.parse(fs.readFileSync(serverRecordFile(dataDir), 'utf8')) as Partial<EmbeddedServerRecord>;
  } catch {
    return null;
  }
  const { pid, host, port } = parsed ?? {};
  if (!Number.isInteger(pid) || pid! <= 0 || typeof host !== 'string' || !Number.isInteger(port) || port! <= 0 || port! > 65535)
    return null;
  return { pid: pid!, host, port: port! };
}

/** What holds an embedded data directory now, as far as its lock and record tell. */
export type EmbeddedHolder =
  /** Nobody (no lock, or its process is gone): open the directory. */
  | { readonly kind: 'free' }
  /** A live process that announced where it listens: connect through it. */
  | { readonly kind: 'server'; readonly record: EmbeddedServerRecord }
  /** A live process that has announced nothing (yet): still starting, or a command that owns it. */
  | { readonly kind: 'busy'; readonly pid: number };

/**
 * Reads the lock and the record of `dataDir`. A record is trusted only when the lock names the
 * same process, that process is alive, and it points at loopback: one left behind by a process
 * that crashed (its pid gone) is not, so the caller opens the directory itself.
 */
export function embeddedHolder(dataDir: string): EmbeddedHolder {
  const holder = readPid(`${dataDir}.lock`);
  if (holder === null || !isRunning(holder)) return { kind: 'free' };
  const record = readServerRecord(dataDir);
  if (record && record.pid === holder && LOOPBACK.has(record.host)) return { kind: 'server', record };
  return { kind: 'busy', pid: holder };
}

const LOOPBACK = new Set(['127.0.0.1', '::1', 'localhost']);

function splitHostPort(conn: string): [string, number] {
  const at = conn.lastIndexOf(':');
  return [conn.slice(0, at), Number(conn.slice(at + 1))];
}

function readPid(file: string): number | null {
  try {
    const pid = Number(fs.readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : null;
  } catch {
    return null;
  }
}

/** True while a process with this pid runs. */
export function isRunning(pid: number): boolean {
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
