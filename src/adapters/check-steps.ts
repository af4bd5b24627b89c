import type { ConnectorError } from '../errors/connector-error.js';
import type { NormalizedRecord } from './records.js';
import { TEST_STEP_NAMES, type CheckResult, type CheckStep, type TestStepName } from './spi.js';

/** Mutable step list: every step is reported, in order; steps after a failure are "not run". */
export class CheckSteps {
  private readonly steps = new Map<TestStepName, CheckStep>();

  pass(name: TestStepName, latencyMs: number, message: string): void {
    this.steps.set(name, { name, passed: true, latencyMs: Math.max(0, latencyMs), message, errorCode: null, retryable: null, remediation: null });
  }

  fail(name: TestStepName, latencyMs: number, error: ConnectorError, message: string, remediation: string): void {
    this.steps.set(name, {
      name,
      passed: false,
      latencyMs: Math.max(0, latencyMs),
      message,
      errorCode: error.code,
      retryable: error.retryable,
      remediation,
    });
  }

  /** The first step without a verdict (for failures outside the known paths). */
  next(): TestStepName {
    return TEST_STEP_NAMES.find((n) => !this.steps.has(n)) ?? 'VALIDATE_FORMAT';
  }

  /** The check's answer: its steps, the sample (none when a step failed), latency since `t0`. */
  result(t0: number, sample: NormalizedRecord[]): CheckResult {
    const list = this.list();
    const failed = list.find((s) => !s.passed);
    return {
      success: !failed,
      latencyMs: performance.now() - t0,
      steps: list,
      sample: failed ? [] : sample,
      message: failed
        ? `${failed.name} failed: ${failed.message ?? 'unknown error'}`
        : `All ${list.length} steps passed; ${sample.length} sample record${sample.length === 1 ? '' : 's'}`,
    };
  }

  list(): CheckStep[] {
    let failed: TestStepName | null = null;
    return TEST_STEP_NAMES.map((name) => {
      const step = failed === null ? this.steps.get(name) : undefined;
      if (step) {
        if (!step.passed) failed = name;
        return step;
      }
      failed ??= name;
      return { name, passed: false, latencyMs: null, message: `not run: ${failed} failed`, errorCode: null, retryable: null, remediation: null };
    });
  }
}
