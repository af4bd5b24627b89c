/**
 * The catalog of declarative providers: one line per manifest file in this folder. Adding a REST
 * provider is a manifest here, a replica in `replicas/`, and one line in each list.
 */
import { loadManifestFile, type ProviderManifest } from '../declarative/manifest.js';

export const MANIFEST_IDS: readonly string[] = [
  'splunk',
  'microsoft_sentinel',
  'ibm_qradar',
  'elastic_security',
  'crowdstrike_falcon',
  'microsoft_defender_for_endpoint',
  'misp',
  'alienvault_otx',
  'abusech_threatfox',
  'shodan',
  'virustotal',
  'abuseipdb',
  'greynoise',
  'okta_system_log',
  'etherscan',
];

/** Loads and validates every listed manifest; throws ManifestError on the first invalid one. */
export function loadManifests(): ProviderManifest[] {
  return MANIFEST_IDS.map((id) => {
    const manifest = loadManifestFile(new URL(`./${id}.yaml`, import.meta.url));
    if (manifest.id !== id) throw new Error(`Manifest ${id}.yaml declares id ${manifest.id}`);
    return manifest;
  });
}
