// A TCP proxy between a store and the test server, speaking just enough of the PostgreSQL wire
// protocol to find message boundaries: it can cut, hold or lose a COMMIT (test/pg-failure.test.ts),
// and go silent, both ways, without closing anything (test/pg-silent.test.ts).
import net from 'node:net';

import { afterAll, beforeAll } from 'vitest';

export type CommitMode =
  /** forward the COMMIT, swallow the server's reply, then cut both sides: the COMMIT landed, its reply is lost */
  | 'lose-reply'
  /** cut both sides instead of forwarding the COMMIT: it never reaches the server */
  | 'drop'
  /** keep the COMMIT until release(); the client side stays connected (a process killed there closes it) */
  | 'hold'
  /** cut the client side at once but keep the COMMIT until release(): the server commits after the client gave up */
  | 'late'
  /** go silent (silence()) instead of forwarding the COMMIT: it never reaches the server, nothing is closed */
  | 'silence-before'
  /** forward the COMMIT, then go silent: it lands, its reply is swallowed, nothing is closed */
  | 'silence-after';

export interface HeldCommit {
  /** Forwards the held COMMIT; resolves once the server answered it (the transaction committed). */
  release(): Promise<void>;
}

/**
 * A TCP proxy speaking just enough of the PostgreSQL wire protocol to find message boundaries. It
 * passes everything through, except the first COMMIT (a simple-query 'Q' message whose text is
 * COMMIT) a client sends after onNextCommit(mode): that one it treats as `mode` says. Silent
 * (silence() to resume()), it forwards nothing either way and closes nothing, as a partition
 * without RST or a hung load balancer: new connections are accepted and never answered.
 */
export class PgProxy {
  readonly #server = net.createServer((client) => this.#connection(client));
  readonly #sockets = new Set<net.Socket>();
  #armed: { mode: CommitMode; seen: (held: HeldCommit) => void } | null = null;
  #silent = false;
  /** How to cut each connection the silence touched (bytes dropped, one side closed): done at resume(). */
  readonly #touched = new Set<() => void>();
  /** Query round trips (a 'Q' or a Sync, then the server's ReadyForQuery) completed on any connection. */
  roundTrips = 0;
  connections = 0;
  /** Client sides closed (by the client, or cut here). */
  clientCloses = 0;
  port = 0;

  constructor(readonly target: { host: string; port: number }) {}

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.port = (this.#server.address() as net.AddressInfo).port;
  }

  /** `url` with the proxy in place of the server. */
  via(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.port);
    return u.toString();
  }

  /** Resolves when the next COMMIT was intercepted. */
  onNextCommit(mode: CommitMode): Promise<HeldCommit> {
    return new Promise((seen) => (this.#armed = { mode, seen }));
  }

  /** From now on nothing is forwarded, either way, on any connection, and nothing is closed. */
  silence(): void {
    this.#silent = true;
  }

  /**
   * Forwarding again. The connections the silence touched are cut now, as the partition's end
   * lets each side learn the other is gone; the untouched ones (idle throughout) go on.
   */
  resume(): void {
    this.#silent = false;
    for (const cut of this.#touched) cut();
    this.#touched.clear();
  }

  async close(): Promise<void> {
    for (const s of this.#sockets) s.destroy();
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
  }

  #connection(client: net.Socket): void {
    this.connections++;
    if (this.#silent) {
      // Accepted (the proxy's kernel does that) and never answered.
      this.#sockets.add(client);
      client.on('error', () => {});
      client.on('close', () => this.#sockets.delete(client));
      this.#touched.add(() => client.destroy());
      return;
    }
    const upstream = net.connect(this.target.port, this.target.host);
    for (const s of [client, upstream]) {
      this.#sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => this.#sockets.delete(s));
    }
    let fromClient = Buffer.alloc(0);
    let fromServer = Buffer.alloc(0);
    let untyped = true; // the startup message (and an SSL/GSS request before it) has no type byte
    let sslAnswers = 0; // one-byte answers the server owes to SSL/GSS requests
    let queryOpen = false;
    let swallowReplies = false;
    let onReady: (() => void) | null = null;
    let keepUpstream = false; // the client side was cut on purpose; the server side still has work to do

    const touched = (): void => {
      this.#touched.add(() => {
        client.destroy();
        upstream.destroy();
      });
    };
    // One side gone takes the other with it, as a TCP connection without a proxy would (not while silent).
    client.on('close', () => {
      this.clientCloses++;
      if (this.#silent) touched();
      else if (!keepUpstream) upstream.destroy();
    });
    upstream.on('close', () => {
      if (this.#silent) touched();
      else client.destroy();
    });

    upstream.on('data', (d: Buffer) => {
      if (this.#silent) return touched();
      fromServer = Buffer.concat([fromServer, d]);
      for (;;) {
        if (sslAnswers > 0 && fromServer.length >= 1) {
          sslAnswers--;
          this.#send(client, fromServer.subarray(0, 1), swallowReplies);
          fromServer = fromServer.subarray(1);
          continue;
        }
        if (fromServer.length < 5) return;
        const total = 1 + fromServer.readInt32BE(1);
        if (fromServer.length < total) return;
        const msg = fromServer.subarray(0, total);
        fromServer = fromServer.subarray(total);
        this.#send(client, msg, swallowReplies);
        if (msg[0] === 0x5a /* Z: ReadyForQuery */) {
          if (queryOpen) this.roundTrips++;
          queryOpen = false;
          const ready = onReady;
          onReady = null;
          ready?.();
        }
      }
    });

    client.on('data', (d: Buffer) => {
      if (this.#silent) return touched();
      fromClient = Buffer.concat([fromClient, d]);
      for (;;) {
        if (untyped) {
          if (fromClient.length < 8) return;
          const len = fromClient.readInt32BE(0);
          if (fromClient.length < len) return;
          const code = fromClient.readInt32BE(4);
          upstream.write(fromClient.subarray(0, len));
          fromClient = fromClient.subarray(len);
          if (code === 80877103 || code === 80877104) sslAnswers++; // SSLRequest, GSSENCRequest: startup follows
          else untyped = false;
          continue;
        }
        if (this.#silent) return touched();
        if (fromClient.length < 5) return;
        const total = 1 + fromClient.readInt32BE(1);
        if (fromClient.length < total) return;
        const msg = Buffer.from(fromClient.subarray(0, total));
        fromClient = fromClient.subarray(total);
        const type = String.fromCharCode(msg[0] as number);
        if (type === 'Q' || type === 'S') queryOpen = true;
        const armed = this.#armed;
        if (armed !== null && type === 'Q' && msg.subarray(5, total - 1).toString('utf8').trim().toUpperCase() === 'COMMIT') {
          this.#armed = null;
          this.#commit(armed, msg, client, upstream, {
            swallow: () => (swallowReplies = true),
            afterReady: (fn) => (onReady = fn),
            keepUpstream: () => (keepUpstream = true),
            silence: () => {
              this.#silent = true;
              touched();
            },
          });
          continue;
        }
        upstream.write(msg);
      }
    });
  }

  #send(client: net.Socket, bytes: Buffer, swallow: boolean): void {
    if (!swallow && !client.destroyed) client.write(bytes);
  }

  #commit(
    armed: { mode: CommitMode; seen: (held: HeldCommit) => void },
    msg: Buffer,
    client: net.Socket,
    upstream: net.Socket,
    ctl: { swallow(): void; afterReady(fn: () => void): void; keepUpstream(): void; silence(): void },
  ): void {
    const noop: HeldCommit = { release: async () => {} };
    switch (armed.mode) {
      case 'lose-reply':
        ctl.keepUpstream();
        ctl.swallow();
        ctl.afterReady(() => {
          // The server answered: committed. The client never hears it.
          client.destroy();
          upstream.destroy();
          armed.seen(noop);
        });
        upstream.write(msg);
        return;
      case 'silence-before':
        ctl.silence();
        armed.seen(noop);
        return;
      case 'silence-after':
        upstream.write(msg);
        ctl.silence();
        armed.seen(noop);
        return;
      case 'drop':
        client.destroy();
        upstream.destroy();
        armed.seen(noop);
        return;
      case 'hold':
      case 'late': {
        if (armed.mode === 'late') {
          ctl.keepUpstream();
          ctl.swallow();
          client.destroy();
        }
        armed.seen({
          release: () =>
            new Promise<void>((resolve) => {
              ctl.afterReady(() => {
                if (armed.mode === 'late') upstream.destroy();
                resolve();
              });
              upstream.write(msg);
            }),
        });
        return;
      }
    }
  }
}

/**
 * A proxy in front of the server of `url()` for the tests of one describe block: listening before
 * them, closed after them. Returns the getter of the proxy.
 */
export function proxyInFrontOf(url: () => string): () => PgProxy {
  let proxy: PgProxy | undefined;
  beforeAll(async () => {
    proxy = new PgProxy({ host: '127.0.0.1', port: Number(new URL(url()).port) });
    await proxy.listen();
  });
  afterAll(async () => {
    await proxy?.close();
  });
  return () => proxy as PgProxy;
}
