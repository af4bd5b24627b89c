/** The inspector CPU profiler of the current process, for the bench's child processes (IPC: profile-start, profile-stop). */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';

export interface Profiler {
  start(): Promise<void>;
  /** Stops and writes the .cpuprofile (Chrome DevTools / speedscope format). */
  stop(file: string): Promise<void>;
}

export function createProfiler(samplingIntervalUs = 250): Profiler {
  let session: Session | null = null;
  return {
    async start() {
      if (session) throw new Error('the profiler is already running');
      session = new Session();
      session.connect();
      await session.post('Profiler.enable');
      await session.post('Profiler.setSamplingInterval', { interval: samplingIntervalUs });
      await session.post('Profiler.start');
    },
    async stop(file: string) {
      if (!session) throw new Error('profile-stop without profile-start');
      const { profile } = await session.post('Profiler.stop');
      session.disconnect();
      session = null;
      writeFileSync(file, JSON.stringify(profile));
    },
  };
}
