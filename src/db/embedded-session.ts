/** What SessionQueue uses of a PGlite instance. */
export interface PgliteSession {
  runExclusive<T>(fn: () => Promise<T>): Promise<T>;
  execProtocolRawStream(message: Uint8Array, options: { onRawData: (data: Uint8Array) => void }): Promise<void>;
  execProtocolRaw(message: Uint8Array): Promise<Uint8Array>;
  isInTransaction(): boolean;
  exec(sql: string): Promise<unknown>;
}

/** One frontend message a connection handed to the socket server, waiting for PGlite. */
interface Pending {
  readonly handlerId: number;
  readonly message: Uint8Array;
  onData(data: Uint8Array): void;
  resolve(bytes: number): void;
  reject(error: unknown): void;
  /** Not a message: the connection went away, release the session if it held it. */
  readonly release?: true;
}

// Frontend messages of the extended query protocol (Parse, Bind, Describe, Execute, Close,
// Flush): the exchange they belong to lasts until the connection's Sync.
const EXTENDED = new Set([...'PBDECH'].map((c) => c.charCodeAt(0)));
const SYNC_MESSAGE = new Uint8Array([0x53, 0, 0, 0, 4]);

/**
 * The order in which the connections of a pglite-socket server reach PGlite's single backend
 * session, in place of the socket server's own queue (same methods): a connection keeps the
 * session to itself not only while it is in a transaction block (as the library's queue does) but
 * also from the first message of an extended-protocol exchange to its Sync. Without the latter,
 * another connection's Parse arriving between this one's Parse and Bind replaces the unnamed
 * statement this one then binds and runs — which happens as soon as a client's messages arrive
 * in separate TCP reads, e.g. a `gatehouse` command beside a running server, both querying.
 */
export class SessionQueue {
  private queue: Pending[] = [];
  private running = false;
  /** The connection that holds the session (a transaction or an unfinished exchange), or none. */
  private owner: number | null = null;

  constructor(private readonly db: PgliteSession) {}

  enqueue(handlerId: number, message: Uint8Array, onData: (data: Uint8Array) => void): Promise<number> {
    return new Promise((resolve, reject) => {
      this.queue.push({ handlerId, message, onData, resolve, reject });
      void this.run();
    });
  }

  clearQueueForHandler(handlerId: number): void {
    this.queue = this.queue.filter((pending) => {
      if (pending.handlerId !== handlerId || pending.release) return true;
      pending.reject(new Error('Handler disconnected'));
      return false;
    });
  }

  /** The connection closed: if it held the session, end its exchange and roll back its transaction, in turn with the rest. */
  clearTransactionIfNeeded(handlerId: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => resolve();
      this.queue.unshift({ handlerId, message: SYNC_MESSAGE, onData: () => undefined, resolve: done, reject: done, release: true });
      void this.run();
    });
  }

  getQueueLength(): number {
    return this.queue.length;
  }

  /** The next message to run: the holder's own while a connection holds the session, else the oldest. */
  private next(): Pending | undefined {
    const index = this.owner === null ? 0 : this.queue.findIndex((pending) => pending.handlerId === this.owner);
    return index === -1 ? undefined : this.queue.splice(index, 1)[0];
  }

  private async run(): Promise<void> {
    if (this.running) return;
    this.running = true;
    try {
      for (let item = this.next(); item; item = this.next()) {
        if (item.release) {
          await this.release(item.handlerId);
          item.resolve(0);
          continue;
        }
        const message = item.message;
        let bytes = 0;
        try {
          await this.db.runExclusive(() =>
            this.db.execProtocolRawStream(message, {
              onRawData: (data) => {
                bytes += data.length;
                item.onData(data);
              },
            }),
          );
        } catch (error) {
          item.reject(error);
          continue;
        } finally {
          this.owner = this.db.isInTransaction() || EXTENDED.has(message[0]) ? item.handlerId : null;
        }
        item.resolve(bytes);
      }
    } finally {
      this.running = false;
    }
  }

  private async release(handlerId: number): Promise<void> {
    if (this.owner !== handlerId) return;
    this.owner = null;
    // A Sync ends an exchange left open (the backend also stops skipping after an error), then
    // an open transaction block is rolled back, so the next connection finds a clean session.
    await this.db.runExclusive(() => this.db.execProtocolRaw(SYNC_MESSAGE)).catch(() => undefined);
    if (this.db.isInTransaction()) await this.db.exec('ROLLBACK').catch(() => undefined);
  }
}
