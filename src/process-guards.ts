import type { Logger } from './server/logger.js';

/**
 * Last-resort handlers for the long-running processes (`npm start`, `npm run worker`).
 *
 * - An unhandled promise rejection is logged at error level with its stack and the process keeps
 *   serving: one forgotten `await` in a dependency (pg-boss 10 settles jobs that way) must not take
 *   the API down when PostgreSQL restarts. It is still a bug to fix, so it is logged loudly.
 * - An uncaught exception leaves the process in an unknown state: it is logged with its stack and
 *   the process exits non-zero, for the supervisor to restart it.
 */
export function installProcessGuards(logger: Logger): void {
  process.on('unhandledRejection', (reason) => {
    logger.error({ err: reason instanceof Error ? reason : { message: String(reason) } }, 'unhandled promise rejection (the process keeps running; this is a bug)');
  });
  process.on('uncaughtException', (error, origin) => {
    logger.fatal({ err: error, origin }, 'uncaught exception: exiting');
    logger.flush?.();
    process.exit(1);
  });
}
