import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeliverPolicy, jetstream, type ConsumerMessages, type JsMsg } from '@nats-io/jetstream';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { freePort } from './ports.js';
import { waitFor } from './wait.js';



/** Whether Debian's nats-server (or any on PATH) is installed: .ci/run installs it. */
export function natsServerInstalled(): boolean {
  return spawnSync('nats-server', ['--version'], { stdio: 'ignore' }).status === 0;
}

/**
 * A real `nats-server -js` on a loopback port with its store in a temporary directory, requiring
 * a user and password (so tests can check the password never leaks). `stop()` and `start()` again
 * keep the port and the store: a broker restart, its stream and messages kept.
 */
export class NatsServer {
  readonly user = 'connector';
  readonly password = 'nats-pw-7f3a9c-secret';
  port = 0;
  private process: ChildProcess | null = null;
  private storeDir = mkdtempSync(join(tmpdir(), 'connector-test-nats-'));
  readonly output: string[] = [];

  /** The URL the service is given (credentials in it). */
  get url(): string {
    return `nats://${this.user}:${this.password}@127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    if (!this.port) this.port = await freePort();
    const child = spawn('nats-server', ['-js', '-a', '127.0.0.1', '-p', String(this.port), '-sd', this.storeDir, '--user', this.user, '--pass', this.password], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.process = child;
    const collect = (chunk: Buffer) => void this.output.push(...chunk.toString('utf8').split('\n').filter(Boolean));
    child.stdout!.on('data', collect);
    child.stderr!.on('data', collect);
    await waitFor(`nats-server listening on ${this.port}`, async () => {
      if (child.exitCode !== null) throw new Error(`nats-server exited with ${child.exitCode}: ${this.output.slice(-10).join('\n')}`);
      return this.output.some((l) => /Server is ready/.test(l)) && (await canConnect(this.port));
    }, 10_000, 50);
    return this;
  }

  async stop(): Promise<void> {
    const child = this.process;
    this.process = null;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  }

  async close(): Promise<void> {
    await this.stop();
    rmSync(this.storeDir, { recursive: true, force: true });
  }

  /** A client of the test's own (the consumer side). */
  client(): Promise<NatsConnection> {
    return connect({ servers: `127.0.0.1:${this.port}`, user: this.user, pass: this.password, maxReconnectAttempts: -1, reconnectTimeWait: 250 });
  }
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface SeenMessage {
  subject: string;
  msgId: string | undefined;
  seq: number;
  body: any;
}

/**
 * An ordered consumer on the whole stream, from its first message, collecting what it reads (an
 * ordered consumer delivers each stored message once, in stream order).
 */
export class StreamWatcher {
  readonly seen: SeenMessage[] = [];
  private messages: ConsumerMessages | null = null;
  private loop: Promise<void> | null = null;

  constructor(
    private readonly nc: NatsConnection,
    private readonly stream: string,
  ) {}

  async start(): Promise<this> {
    const consumer = await jetstream(this.nc).consumers.get(this.stream, { deliver_policy: DeliverPolicy.All });
    this.messages = await consumer.consume();
    this.loop = (async () => {
      for await (const m of this.messages!) this.seen.push(toSeen(m));
    })();
    return this;
  }

  /** What it read of one connector's subjects. */
  of(connectorId: string): SeenMessage[] {
    return this.seen.filter((m) => m.subject.split('.')[2] === connectorId);
  }

  async stop(): Promise<void> {
    await this.messages?.close();
    await this.loop?.catch(() => undefined);
  }
}

function toSeen(m: JsMsg): SeenMessage {
  return { subject: m.subject, msgId: m.headers?.get('Nats-Msg-Id'), seq: m.seq, body: m.json() };
}
