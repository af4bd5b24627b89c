import { jest } from '@jest/globals';
import { HostGate, upstreamHost } from '../../src/jobs/host-gate.js';

describe('HostGate: concurrency per upstream host', () => {
  test('a host not yet known gets one call at a time; once it answered fast, as many as are asked', () => {
    const gate = new HostGate(2000);
    const first = gate.enter('a:443');
    expect(first).not.toBeNull();
    expect(gate.enter('a:443')).toBeNull(); // probing
    expect(gate.enter('b:443')).not.toBeNull(); // another host is not held up
    first!();
    expect(gate.known('a:443')).toBe(true);
    const calls = Array.from({ length: 5 }, () => gate.enter('a:443'));
    expect(calls.every(Boolean)).toBe(true);
    expect(gate.running('a:443')).toBe(5);
    for (const release of calls) release!();
    expect(gate.running('a:443')).toBe(0);
  });

  test('a host whose last call was slow, or whose running call has become slow, gets one call at a time', () => {
    let now = 1_000_000;
    const spy = jest.spyOn(Date, 'now').mockImplementation(() => now);
    try {
      const gate = new HostGate(2000);
      gate.enter('a:443')!();
      const running = gate.enter('a:443')!;
      expect(gate.enter('a:443')).not.toBeNull(); // fast so far
      now += 2500; // the running calls have taken 2.5 s
      expect(gate.enter('a:443')).toBeNull();
      expect(gate.slow('a:443')).toBe(true); // what the syncs of the host go by
      running();
      expect(gate.enter('a:443')).toBeNull(); // one still running, and the last one ended slow
      expect(gate.slow('a:443')).toBe(true);
      expect(gate.slow('b:443')).toBe(false); // not known: not slow
    } finally {
      spy.mockRestore();
    }
  });

  test('a release called twice counts once', () => {
    const gate = new HostGate(2000);
    const release = gate.enter('a:443')!;
    release();
    release();
    expect(gate.running('a:443')).toBe(0);
  });
});

describe('upstreamHost', () => {
  test('host:port of baseUrl, else of the first http(s) URL in the config, else the provider', () => {
    expect(upstreamHost('generic_rest', { baseUrl: 'https://api.example.com/v1' })).toBe('api.example.com:443');
    expect(upstreamHost('generic_rest', { baseUrl: 'http://127.0.0.1:8080/x' })).toBe('127.0.0.1:8080');
    expect(upstreamHost('ethereum', { rpcUrl: 'http://node.example:8545', confirmations: 12 })).toBe('node.example:8545');
    expect(upstreamHost('nvd', { pageSize: 10 })).toBe('provider:nvd');
    expect(upstreamHost('x', { baseUrl: 'not a url', other: 'https://b.example' })).toBe('b.example:443');
  });
});
