import type { GroupStatistics, StepEndEvent } from '@azr/core';
import { describe, expect, it } from 'vitest';
import { createProgressSink, formatStepLine } from './progress.js';

function group(mode: string, role: 'propose' | 'solve', rate: number): GroupStatistics {
  return {
    mode,
    role,
    count: 4,
    wellFormedRate: 1,
    validRate: role === 'propose' ? rate : undefined,
    solveRate: rate,
    meanReward: 0,
    advantageMean: 0,
    advantageStandardDeviation: 0,
    tokens: 8,
  };
}

function stepEnd(modes: readonly string[]): StepEndEvent {
  return {
    type: 'step-end',
    step: 3,
    groups: modes.flatMap((mode) => [group(mode, 'propose', 0.5), group(mode, 'solve', 0.25)]),
    loss: 0.1,
    durationMs: 2000,
    tokensPerSecond: 120,
  };
}

describe('the progress display', () => {
  it('names modes by their initials, or by their names when two initials collide', () => {
    expect(formatStepLine(stepEnd(['deduction', 'abduction', 'induction']), 10, undefined)).toContain(
      'valid d 50% a 50% i 50%  solve d 25% a 25% i 25%',
    );
    expect(formatStepLine(stepEnd(['deduction', 'short-deduction', 'double']), 10, undefined)).toContain(
      'valid deduction 50% short-deduction 50% double 50%',
    );
  });

  it('shows the seeding stage round by round, and warns when it ends short', () => {
    const lines: string[] = [];
    const sink = createProgressSink({ write: (text) => void lines.push(text), isTerminal: false }, 10);
    const tasks = { deduction: 3, abduction: 1 };
    sink.write({ type: 'seeding', round: 1, tasks, target: 4, done: false, reached: false, durationMs: 5 });
    sink.write({ type: 'seeding', round: 2, tasks, target: 4, done: true, reached: false, durationMs: 5 });
    expect(lines.join('')).toBe(
      'seeding round 1: deduction 3/4, abduction 1/4\n' +
        'seeding round 2: deduction 3/4, abduction 1/4\n' +
        'seeding stopped after 2 rounds short of 4 tasks per mode; training goes on from the tasks the buffers hold\n',
    );
  });
});
