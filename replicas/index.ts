/** Every vendor replica, one line each (the catalog test and `npm run replicas` read this list). */
import type { ReplicaModule } from './base.js';
import { replica as splunk } from './splunk.js';
import { replica as microsoftSentinel } from './microsoft_sentinel.js';
import { replica as ibmQradar } from './ibm_qradar.js';
import { replica as elasticSecurity } from './elastic_security.js';
import { replica as crowdstrikeFalcon } from './crowdstrike_falcon.js';
import { replica as microsoftDefenderForEndpoint } from './microsoft_defender_for_endpoint.js';
import { replica as misp } from './misp.js';
import { replica as alienvaultOtx } from './alienvault_otx.js';
import { replica as abusechThreatfox } from './abusech_threatfox.js';
import { replica as shodan } from './shodan.js';
import { replica as virustotal } from './virustotal.js';
import { replica as abuseipdb } from './abuseipdb.js';
import { replica as greynoise } from './greynoise.js';
import { replica as oktaSystemLog } from './okta_system_log.js';
import { replica as etherscan } from './etherscan.js';
import { startEthereumReplica } from './ethereum.js';
import { replica as taxii21 } from './taxii21.js';

export const REPLICAS: readonly ReplicaModule[] = [
  splunk,
  microsoftSentinel,
  ibmQradar,
  elasticSecurity,
  crowdstrikeFalcon,
  microsoftDefenderForEndpoint,
  misp,
  alienvaultOtx,
  abusechThreatfox,
  shodan,
  virustotal,
  abuseipdb,
  greynoise,
  oktaSystemLog,
  etherscan,
];

/**
 * Replicas of hand-written providers (no manifest: their own suites test them, e.g.
 * test/integration/adapters/taxii.test.ts); `npm run replicas` serves them after the catalog's.
 */
export const ADAPTER_REPLICAS: readonly ReplicaModule[] = [taxii21];

/** Hand-written providers' stores (not HTTP replicas of a manifest): `npm run replicas` serves them too. */
export { seedSampleTrails, startCloudTrailStore } from './aws_cloudtrail.js';

/** Protocol nodes rather than vendor APIs (no manifest, so not in REPLICAS): `npm run replicas` serves them too. */
export const NODE_REPLICAS = [{ provider: 'ethereum', start: startEthereumReplica }] as const;
