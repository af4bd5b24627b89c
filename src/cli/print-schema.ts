/** Writes schema/connectors.graphql: the subgraph SDL printed from the code (npm run schema:print). */
import 'reflect-metadata';
import { writeFileSync } from 'node:fs';
import { buildFederatedSchema, printFederatedSchema } from '../graphql/schema.js';

const target = process.argv[2] ?? 'schema/connectors.graphql';
writeFileSync(target, await printFederatedSchema(await buildFederatedSchema()));
console.log(`wrote ${target}`);
