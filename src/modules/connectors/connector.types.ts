import type { CheckResult } from '../../adapters/spi.js';

/** A stored connection test (`lastTest`): the adapter's result plus when it ran. */
export interface ConnectionTestResultData extends CheckResult {
  testedAt: string;
}
