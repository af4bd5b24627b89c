/**
 * Splits a syslog TCP (or TLS) byte stream into messages (RFC 6587):
 *
 * - octet counting, `MSG-LEN SP SYSLOG-MSG` (RFC 6587 §3.4.1, the framing RFC 5425 requires for TLS);
 * - non-transparent framing, one message per LF-terminated line (§3.4.2; a CR before the LF is dropped).
 *
 * The method is chosen per connection by its first byte: a digit means octet counting (a syslog
 * message itself starts with `<`). A frame over `maxBytes` is never buffered: it is counted as
 * oversized and its bytes are skipped as they arrive. An octet-counted stream whose length prefix is
 * not digits and a space has lost its framing; `onError` is called and nothing more is read.
 */
import { MAX_LINE_BYTES } from '../../../adapters/formats/syslog.js';

export interface FramerEvents {
  /** One message, without its framing. */
  onMessage(message: Buffer): void;
  /** A frame longer than the limit was skipped. */
  onOversized(bytes: number): void;
  /** The octet-counted framing is broken: the connection should be closed. */
  onError(reason: string): void;
}

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
/** Digits of MSG-LEN, at most (RFC 6587 allows any; 64 KiB needs 5, one more for a friendly "too long"). */
const MAX_LENGTH_DIGITS = 9;

const isDigit = (c: number) => c >= 0x30 && c <= 0x39;

export class SyslogFramer {
  private mode: 'unknown' | 'octet' | 'lf' | 'broken' = 'unknown';
  private parts: Buffer[] = [];
  private partsLength = 0;
  /** Octet counting: the length being read (digits so far), or the bytes still expected of the body. */
  private lengthDigits = '';
  private expecting = -1;
  /** Bytes of an oversized frame still to skip (octet counting), or true while skipping to the next LF. */
  private skip = 0;
  private skippingLine = false;
  private skippedLine = 0;

  constructor(
    private readonly events: FramerEvents,
    private readonly maxBytes = MAX_LINE_BYTES,
  ) {}

  get framing(): 'octet-counting' | 'lf' | null {
    return this.mode === 'octet' ? 'octet-counting' : this.mode === 'lf' ? 'lf' : null;
  }

  /** Bytes held for an incomplete frame (never more than `maxBytes`). */
  get buffered(): number {
    return this.partsLength;
  }

  push(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.mode === 'broken') return;
      if (this.mode === 'unknown') {
        const c = chunk[i]!;
        if (c === LF || c === CR) {
          i++;
          continue;
        }
        this.mode = isDigit(c) ? 'octet' : 'lf';
      }
      i = this.mode === 'octet' ? this.octet(chunk, i) : this.line(chunk, i);
    }
  }

  /** The end of the stream: a last line without its LF is still a message. */
  end(): void {
    if (this.mode === 'lf' && this.partsLength > 0 && !this.skippingLine) this.emit(this.take());
    this.parts = [];
    this.partsLength = 0;
  }

  private take(): Buffer {
    const out = this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.partsLength);
    this.parts = [];
    this.partsLength = 0;
    return out;
  }

  private hold(piece: Buffer): void {
    if (!piece.length) return;
    this.parts.push(piece);
    this.partsLength += piece.length;
  }

  private emit(frame: Buffer): void {
    let end = frame.length;
    while (end > 0 && (frame[end - 1] === LF || frame[end - 1] === CR || frame[end - 1] === 0)) end--;
    if (end > 0) this.events.onMessage(end === frame.length ? frame : frame.subarray(0, end));
  }

  private octet(chunk: Buffer, start: number): number {
    let i = start;
    if (this.skip > 0) {
      const n = Math.min(this.skip, chunk.length - i);
      this.skip -= n;
      return i + n;
    }
    if (this.expecting < 0) {
      // MSG-LEN SP; LF/CR between frames (some senders add one) are tolerated.
      while (i < chunk.length) {
        const c = chunk[i]!;
        if (this.lengthDigits === '' && (c === LF || c === CR)) {
          i++;
          continue;
        }
        if (isDigit(c) && this.lengthDigits.length < MAX_LENGTH_DIGITS && !(this.lengthDigits === '' && c === 0x30)) {
          this.lengthDigits += String.fromCharCode(c);
          i++;
          continue;
        }
        if (c === SP && this.lengthDigits !== '') {
          i++;
          const length = Number(this.lengthDigits);
          this.lengthDigits = '';
          if (length > this.maxBytes) {
            this.events.onOversized(length);
            this.skip = length;
            return i;
          }
          this.expecting = length;
          return i;
        }
        this.mode = 'broken';
        this.events.onError(`octet-counted frame does not start with MSG-LEN and a space (byte 0x${c.toString(16).padStart(2, '0')})`);
        return chunk.length;
      }
      return i;
    }
    const n = Math.min(this.expecting - this.partsLength, chunk.length - i);
    this.hold(chunk.subarray(i, i + n));
    i += n;
    if (this.partsLength === this.expecting) {
      this.expecting = -1;
      this.emit(this.take());
    }
    return i;
  }

  private line(chunk: Buffer, start: number): number {
    const lf = chunk.indexOf(LF, start);
    const end = lf === -1 ? chunk.length : lf;
    if (this.skippingLine) {
      this.skippedLine += end - start;
      if (lf !== -1) {
        this.skippingLine = false;
        this.events.onOversized(this.skippedLine);
        this.skippedLine = 0;
      }
      return lf === -1 ? chunk.length : lf + 1;
    }
    const piece = chunk.subarray(start, end);
    // The CR of a CRLF does not count against the limit.
    const limit = this.maxBytes + 1;
    if (this.partsLength + piece.length > limit) {
      this.skippedLine = this.partsLength + piece.length;
      this.parts = [];
      this.partsLength = 0;
      if (lf === -1) {
        this.skippingLine = true;
        return chunk.length;
      }
      this.events.onOversized(this.skippedLine);
      this.skippedLine = 0;
      return lf + 1;
    }
    this.hold(piece);
    if (lf === -1) return chunk.length;
    const frame = this.take();
    if (frame.length > this.maxBytes && frame[frame.length - 1] !== CR) this.events.onOversized(frame.length);
    else this.emit(frame);
    return lf + 1;
  }
}
