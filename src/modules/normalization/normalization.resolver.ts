import { Arg, Field, ObjectType, Query, Resolver, registerEnumType } from 'type-graphql';
import { parseLines } from '../../adapters/formats/index.js';
import { AppError } from '../../errors/app-error.js';
import { Requires } from '../../graphql/access.js';
import { JSONScalar } from '../../graphql/scalars.js';

export const LOG_FORMATS = ['CEF', 'LEEF'] as const;
type LogFormat = (typeof LOG_FORMATS)[number];
const LogFormatEnum = Object.fromEntries(LOG_FORMATS.map((f) => [f, f])) as Record<LogFormat, LogFormat>;
registerEnumType(LogFormatEnum, { name: 'LogFormat' });

export const PREVIEW_MAX_LINES = 1000;

@ObjectType({ description: 'How one pasted line normalizes: the event record, or why it cannot be read.' })
export class NormalizationResult {
  @Field(() => Boolean) ok!: boolean;
  @Field(() => JSONScalar, { nullable: true }) record!: unknown;
  @Field(() => String, { nullable: true }) error!: string | null;
}

@Resolver()
export class NormalizationResolver {
  @Query(() => [NormalizationResult], {
    description: 'Shows exactly how sample CEF or LEEF lines will be normalized, before a source goes live (at most 1000 lines).',
  })
  @Requires('viewer')
  previewNormalization(
    @Arg('format', () => LogFormatEnum) format: LogFormat,
    @Arg('lines', () => [String]) lines: string[],
  ): NormalizationResult[] {
    if (lines.length > PREVIEW_MAX_LINES) {
      throw AppError.badInput(`at most ${PREVIEW_MAX_LINES} lines per call, got ${lines.length}`, [{ path: 'lines', message: `at most ${PREVIEW_MAX_LINES}` }]);
    }
    return parseLines(format, lines).map((r) => (r.ok ? { ok: true, record: r.record, error: null } : { ok: false, record: null, error: r.error }));
  }
}
