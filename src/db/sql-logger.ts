import type { Logger as TypeOrmLogger, QueryRunner } from 'typeorm';
import type { Logger } from '../server/logger.js';
import { countStatement } from './statement-counter.js';

/**
 * TypeORM logger that counts statements and logs query text without parameters: parameters may
 * hold ciphertext or credentials on their way to the secret store.
 */
export class SqlLogger implements TypeOrmLogger {
  constructor(private readonly logger: Logger) {}

  logQuery(query: string, _parameters?: unknown[], _queryRunner?: QueryRunner): void {
    countStatement();
    if (this.logger.isLevelEnabled('trace')) this.logger.trace({ sql: query }, 'sql');
  }

  logQueryError(error: string | Error, query: string): void {
    const message = error instanceof Error ? error.message : error;
    this.logger.debug({ sql: query, err: message }, 'sql error');
  }

  logQuerySlow(time: number, query: string): void {
    this.logger.warn({ sql: query, ms: time }, 'slow sql');
  }

  logSchemaBuild(message: string): void {
    this.logger.debug(message);
  }

  logMigration(message: string): void {
    this.logger.info({ migration: message }, 'migration');
  }

  log(level: 'log' | 'info' | 'warn', message: unknown): void {
    if (level === 'warn') this.logger.warn(String(message));
    else this.logger.debug(String(message));
  }
}
