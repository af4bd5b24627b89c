/** Writes docs/providers.md from the provider registry and manifests (npm run docs:providers). */
import { writeFileSync } from 'node:fs';
import { renderProvidersDoc } from '../adapters/declarative/catalog-doc.js';

const target = process.argv[2] ?? 'docs/providers.md';
writeFileSync(target, renderProvidersDoc());
console.log(`wrote ${target}`);
