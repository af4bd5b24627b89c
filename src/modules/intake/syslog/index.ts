import type { DataSource } from 'typeorm';
import type { AppConfig } from '../../../config.js';
import type { Logger } from '../../../server/logger.js';
import type { IntakeService } from '../intake.service.js';
import { SyslogReceiver } from './receiver.js';
import { SyslogRouter } from './router.js';

export { SyslogReceiver } from './receiver.js';
export { SyslogRouter } from './router.js';
export { PUSH_ROUTES_CHANNEL } from './channel.js';

/** The configured receiver, or null when no SYSLOG_*_PORT is set (the receiver is off). */
export function createSyslogReceiver(config: AppConfig, dataSource: DataSource, databaseUrl: string, intake: IntakeService, logger: Logger): SyslogReceiver | null {
  const s = config.syslog;
  if (s.udpPort === undefined && s.tcpPort === undefined && s.tlsPort === undefined) return null;
  return new SyslogReceiver(s, new SyslogRouter(dataSource, databaseUrl, logger), intake, logger);
}
