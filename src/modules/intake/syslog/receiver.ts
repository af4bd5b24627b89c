/**
 * The syslog receiver: UDP (RFC 5426), TCP (RFC 6587) and TLS (RFC 5425) listeners, off unless a
 * port is configured. Each message's header is read (header.ts), the message is routed to exactly
 * one push connector (router.ts) or counted and dropped, and queued on that connector.
 *
 * Back-pressure, not loss:
 * - per connector, messages are written in batches (after `flushMs` or at `batchSize`) through
 *   `IntakeService.submit`, up to `lanes` batches at a time (the database writes them in parallel;
 *   a busy intake still refuses beyond its own bound);
 * - a connector's queue (waiting and being written) holds at most `queueMax` messages. A TCP/TLS connection that sends to a
 *   connector whose queue is full, or whose last batch came back busy, is paused (`socket.pause()`:
 *   the kernel's window then stops the sender) until the queue has drained below half;
 * - a UDP datagram for a full queue cannot be held back: it is dropped and counted (`droppedUdp`,
 *   and each second on its connector's `droppedOverflow`);
 * - a batch the intake refused as busy, or that failed on the database, is retried (with backoff),
 *   never dropped; `stop()` flushes what is queued.
 */
import dgram from 'node:dgram';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import tls from 'node:tls';
import { MAX_LINE_BYTES } from '../../../adapters/formats/syslog.js';
import type { PushMessage } from '../../../adapters/spi.js';
import type { SyslogConfig } from '../../../config.js';
import type { Logger } from '../../../server/logger.js';
import type { IntakeService } from '../intake.service.js';
import { SyslogFramer } from './framing.js';
import { toPushMessage } from './header.js';
import type { SyslogRouter } from './router.js';

/** Where the receiver listens and how much it queues: the SYSLOG_* settings (a port of 0: any free port). */
export type SyslogSettings = SyslogConfig;

export interface SyslogCounters {
  /** Messages read (framed), whatever became of them. */
  received: number;
  /** Messages no connector's rule matched. */
  unmatched: number;
  /** Messages whose sender matched connectors of more than one tenant (or tied within one). */
  ambiguous: number;
  /** UDP datagrams dropped because their connector's queue was full. */
  droppedUdp: number;
  /** Frames over the 64 KiB limit, skipped. */
  oversized: number;
  /** TCP/TLS connections closed because their octet-counted framing broke. */
  framingErrors: number;
  /** Messages handed to the intake (in accepted, disabled or gone batches). */
  submitted: number;
  /** Times a connection was paused for back-pressure. */
  pauses: number;
  /** Batches the intake answered busy (then retried). */
  busy: number;
}

interface ConnectorQueue {
  tenantId: string;
  connectorId: string;
  /** Waiting for a batch. */
  messages: PushMessage[];
  timer: NodeJS.Timeout | null;
  /** Batches being written, and how many messages they hold. */
  writes: Set<Promise<void>>;
  writing: number;
  /** The last batch came back busy (or failed): connections feeding it are paused. */
  blocked: boolean;
  paused: Set<net.Socket>;
}

export interface ReceiverOptions {
  batchSize?: number;
  flushMs?: number;
  /** Batches of one connector written at once. */
  lanes?: number;
}

/** How often UDP drops are added to the connectors' intake counters. */
const OVERFLOW_REPORT_MS = 1000;

export class SyslogReceiver {
  private overflowTimer: NodeJS.Timeout | null = null;
  /** Per connector, UDP datagrams dropped since the last report to its intake counters. */
  private readonly overflow = new Map<string, { tenantId: string; connectorId: string; dropped: number }>();
  private readonly stats: SyslogCounters = { received: 0, unmatched: 0, ambiguous: 0, droppedUdp: 0, oversized: 0, framingErrors: 0, submitted: 0, pauses: 0, busy: 0 };
  private readonly queues = new Map<string, ConnectorQueue>();
  /** For each paused socket, the queues holding it. */
  private readonly holds = new Map<net.Socket, Set<ConnectorQueue>>();
  private readonly sockets = new Set<net.Socket>();
  private udp: dgram.Socket | null = null;
  private tcp: net.Server | null = null;
  private tlsServer: tls.Server | null = null;
  private stopping = false;
  private readonly batchSize: number;
  private readonly flushMs: number;
  private readonly lanes: number;

  constructor(
    private readonly settings: SyslogSettings,
    private readonly router: SyslogRouter,
    private readonly intake: IntakeService,
    private readonly logger: Logger,
    options: ReceiverOptions = {},
  ) {
    this.batchSize = options.batchSize ?? 500;
    this.flushMs = options.flushMs ?? 50;
    this.lanes = options.lanes ?? 4;
  }

  get counters(): Readonly<SyslogCounters> {
    return { ...this.stats };
  }

  /** Where each listener is bound (after `start`). */
  get ports(): { udp: number | null; tcp: number | null; tls: number | null } {
    const port = (a: unknown) => (a && typeof a === 'object' && 'port' in a ? Number((a as { port: number }).port) : null);
    return { udp: this.udp ? this.udp.address().port : null, tcp: port(this.tcp?.address()), tls: port(this.tlsServer?.address()) };
  }

  /** Whether messages can be routed to this connector yet (its create has reached this process). */
  hasRoute(connectorId: string): boolean {
    return this.router.has(connectorId);
  }

  /** Messages queued across connectors. */
  get queued(): number {
    let n = 0;
    for (const q of this.queues.values()) n += q.messages.length + q.writing;
    return n;
  }

  async start(): Promise<void> {
    const { host } = this.settings;
    await this.router.start();
    try {
      if (this.settings.udpPort !== undefined) {
        const udp = (this.udp = dgram.createSocket({ type: host.includes(':') ? 'udp6' : 'udp4', recvBufferSize: 4 * 1024 * 1024 }));
        udp.on('message', (data, rinfo) => this.onDatagram(data, rinfo.address));
        udp.on('error', (error) => this.logger.error({ err: error.message }, 'syslog UDP listener error'));
        await new Promise<void>((resolve, reject) => {
          udp.once('error', reject);
          udp.bind(this.settings.udpPort, host, () => {
            udp.off('error', reject);
            resolve();
          });
        });
      }
      if (this.settings.tcpPort !== undefined) {
        this.tcp = net.createServer((socket) => this.onConnection(socket, 'tcp'));
        await this.listen(this.tcp, this.settings.tcpPort);
      }
      if (this.settings.tlsPort !== undefined) {
        if (!this.settings.tlsCert || !this.settings.tlsKey) throw new Error('SYSLOG_TLS_PORT needs SYSLOG_TLS_CERT and SYSLOG_TLS_KEY');
        this.tlsServer = tls.createServer({ cert: readFileSync(this.settings.tlsCert), key: readFileSync(this.settings.tlsKey), minVersion: 'TLSv1.2' }, (socket) =>
          this.onConnection(socket, 'tls'),
        );
        this.tlsServer.on('tlsClientError', (error) => this.logger.debug({ err: error.message }, 'syslog TLS handshake failed'));
        await this.listen(this.tlsServer, this.settings.tlsPort);
      }
    } catch (error) {
      await this.stop();
      throw error;
    }
    this.logger.info({ ...this.ports, host }, 'syslog receiver listening');
  }

  private listen(server: net.Server, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, this.settings.host, () => {
        server.off('error', reject);
        server.on('error', (error) => this.logger.error({ err: error.message }, 'syslog listener error'));
        resolve();
      });
    });
  }

  /** Closes the listeners and connections, then writes what is queued. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    const closing: Array<Promise<void>> = [];
    if (this.udp) {
      const udp = this.udp;
      closing.push(new Promise((resolve) => udp.close(() => resolve())));
    }
    for (const server of [this.tcp, this.tlsServer]) if (server) closing.push(new Promise((resolve) => server.close(() => resolve())));
    for (const socket of this.sockets) socket.destroy();
    await Promise.all(closing);
    // Flush: a batch still refused after a few tries is given up (logged) so a shutdown ends.
    for (const q of this.queues.values()) {
      if (q.timer) clearTimeout(q.timer);
      q.timer = null;
    }
    const deadline = Date.now() + 10_000;
    for (const q of this.queues.values()) {
      while ((q.messages.length || q.writes.size) && Date.now() < deadline) {
        while (q.messages.length && q.writes.size < this.lanes) this.write(q);
        await Promise.race(q.writes);
      }
      const lost = q.messages.length + q.writing;
      if (lost) this.logger.warn({ connectorId: q.connectorId, lost }, 'syslog receiver stopped with messages it could not write');
    }
    if (this.overflowTimer) clearTimeout(this.overflowTimer);
    await this.reportOverflow();
    await this.router.stop();
  }

  private onDatagram(data: Buffer, address: string): void {
    if (data.length > MAX_LINE_BYTES) {
      this.stats.oversized++;
      return;
    }
    // One message per datagram (RFC 5426); some senders end it with a newline.
    const line = data.toString('utf8');
    if (!line.trim()) return;
    this.take(line, 'udp', address, null);
  }

  private onConnection(socket: net.Socket, transport: 'tcp' | 'tls'): void {
    if (this.stopping) {
      socket.destroy();
      return;
    }
    this.sockets.add(socket);
    const address = socket.remoteAddress ?? '';
    const framer = new SyslogFramer({
      onMessage: (frame) => this.take(frame.toString('utf8'), transport, address, socket),
      onOversized: () => void this.stats.oversized++,
      onError: (reason) => {
        this.stats.framingErrors++;
        this.logger.debug({ remoteAddress: address, reason }, 'syslog connection closed: broken framing');
        socket.destroy();
      },
    });
    socket.setKeepAlive(true, 60_000);
    socket.on('data', (chunk: Buffer) => framer.push(chunk));
    socket.on('end', () => framer.end());
    socket.on('error', (error) => this.logger.debug({ remoteAddress: address, err: error.message }, 'syslog connection error'));
    socket.on('close', () => {
      this.sockets.delete(socket);
      for (const q of this.holds.get(socket) ?? []) q.paused.delete(socket);
      this.holds.delete(socket);
    });
  }

  /** One framed message: read, routed, queued (or counted and dropped). */
  private take(line: string, transport: PushMessage['transport'], address: string, socket: net.Socket | null): void {
    this.stats.received++;
    const message = toPushMessage(line, transport, address);
    const decision = this.router.route(address, message.hostname, message.appName);
    if (decision.kind === 'unmatched') {
      this.stats.unmatched++;
      return;
    }
    if (decision.kind === 'ambiguous') {
      this.stats.ambiguous++;
      return;
    }
    const { tenantId, connectorId } = decision.route;
    let q = this.queues.get(connectorId);
    if (!q) {
      q = { tenantId, connectorId, messages: [], timer: null, writes: new Set(), writing: 0, blocked: false, paused: new Set() };
      this.queues.set(connectorId, q);
    }
    if (!socket && q.messages.length + q.writing >= this.settings.queueMax) {
      this.stats.droppedUdp++;
      const pending = this.overflow.get(connectorId);
      if (pending) pending.dropped++;
      else this.overflow.set(connectorId, { tenantId, connectorId, dropped: 1 });
      this.overflowTimer ??= setTimeout(() => void this.reportOverflow(), OVERFLOW_REPORT_MS);
      return;
    }
    q.messages.push(message);
    if (socket && (q.blocked || q.messages.length + q.writing >= this.settings.queueMax)) this.hold(q, socket);
    this.schedule(q);
  }

  /** Adds the UDP drops since the last report to each connector's intake counters (`droppedOverflow`). */
  private async reportOverflow(): Promise<void> {
    this.overflowTimer = null;
    const reports = [...this.overflow.values()];
    this.overflow.clear();
    for (const { tenantId, connectorId, dropped } of reports) {
      await this.intake.countOverflow({ tenantId, connectorId }, dropped).catch((e) =>
        this.logger.warn({ connectorId, dropped, err: String(e) }, 'could not add dropped syslog datagrams to the connector\'s counters'),
      );
    }
  }

  private hold(q: ConnectorQueue, socket: net.Socket): void {
    if (q.paused.has(socket)) return;
    q.paused.add(socket);
    let holds = this.holds.get(socket);
    if (!holds) this.holds.set(socket, (holds = new Set()));
    holds.add(q);
    if (!socket.isPaused()) {
      socket.pause();
      this.stats.pauses++;
    }
  }

  /** The queue drained: its connections go on unless another queue still holds them. */
  private release(q: ConnectorQueue): void {
    for (const socket of q.paused) {
      const holds = this.holds.get(socket);
      holds?.delete(q);
      if (!holds?.size) {
        this.holds.delete(socket);
        if (!socket.destroyed) socket.resume();
      }
    }
    q.paused.clear();
  }

  /** Starts full batches while a lane is free; a partial batch waits up to `flushMs` for more. */
  private schedule(q: ConnectorQueue): void {
    if (this.stopping) return;
    while (q.messages.length >= this.batchSize && q.writes.size < this.lanes) this.write(q);
    if (q.timer) {
      if (!q.messages.length) {
        clearTimeout(q.timer);
        q.timer = null;
      }
    } else if (q.messages.length && q.writes.size < this.lanes) {
      q.timer = setTimeout(() => {
        q.timer = null;
        if (q.messages.length && q.writes.size < this.lanes && !this.stopping) this.write(q);
      }, this.flushMs);
    }
  }

  /** Takes the next batch off the queue and writes it in a lane of its own. */
  private write(q: ConnectorQueue): void {
    const batch = q.messages.splice(0, this.batchSize);
    q.writing += batch.length;
    const done: Promise<void> = this.writeBatch(q, batch).finally(() => {
      q.writing -= batch.length;
      q.writes.delete(done);
      if (q.blocked || q.paused.size) {
        if (q.messages.length + q.writing < this.settings.queueMax / 2) {
          q.blocked = false;
          this.release(q);
        }
      }
      this.schedule(q);
      if (!q.messages.length && !q.writes.size && !q.paused.size && !q.timer) this.queues.delete(q.connectorId);
    });
    q.writes.add(done);
  }

  /** Writes one batch, retrying (with backoff) while the intake is busy or the database fails. */
  private async writeBatch(q: ConnectorQueue, batch: PushMessage[]): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      let retryMs: number;
      try {
        const outcome = await this.intake.submit({ tenantId: q.tenantId, connectorId: q.connectorId }, batch, { retried: true });
        if (outcome.status !== 'busy') {
          // accepted, or disabled / gone (the intake counted the drop): either way these are done.
          this.stats.submitted += batch.length;
          if (outcome.status === 'not_found' || outcome.status === 'not_push') void this.router.reload().catch(() => undefined);
          return;
        }
        this.stats.busy++;
        retryMs = Math.min(outcome.retryAfterSec * 1000, 50 * 2 ** attempt);
      } catch (error) {
        this.logger.warn({ connectorId: q.connectorId, err: (error as Error).message }, 'syslog batch could not be written; retrying');
        retryMs = Math.min(5000, 100 * 2 ** attempt);
      }
      q.blocked = true;
      if (this.stopping && attempt >= 5) {
        // Given back to the queue: stop() reports it as lost once its deadline passes.
        q.messages.unshift(...batch);
        return;
      }
      await new Promise((r) => setTimeout(r, retryMs));
    }
  }
}
