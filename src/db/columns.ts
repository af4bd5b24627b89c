import type { ValueTransformer } from 'typeorm';

/** PostgreSQL returns bigint/numeric as strings; counters here fit in a JS number. */
export const numericTransformer: ValueTransformer = {
  to: (value: number | null | undefined) => value,
  from: (value: string | number | null) => (value === null ? null : Number(value)),
};
