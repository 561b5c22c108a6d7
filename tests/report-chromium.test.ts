import { access, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { evaluateModel, train, writeReport } from '@azr/cli';
import { chromium } from 'playwright-core';
import { afterAll, describe, expect, it } from 'vitest';
import { writeMicroModel } from './helpers.js';

const browserPath = process.env.AZR_CHROMIUM ?? '/usr/bin/chromium';
const hasBrowser = await access(browserPath).then(
  () => true,
  () => false,
);
const directories: string[] = [];
afterAll(() => Promise.all(directories.map((directory) => rm(directory, { recursive: true, force: true }))));

// CI installs Debian's chromium (.ci/run); elsewhere the test runs when it is there.
describe.runIf(hasBrowser || process.env.CI)(
  'the run report in headless Chromium',
  { timeout: 180_000 },
  () => {
    it('loads without errors or network requests, and draws every chart with the run data', async () => {
      const workspace = await mkdtemp(join(tmpdir(), 'azr-report-'));
      directories.push(workspace);
      await writeMicroModel(join(workspace, 'model'), 2);
      const configFile = join(workspace, 'azr.config.json');
      await writeFile(
        configFile,
        JSON.stringify({
          model: { directory: 'model' },
          trainer: { batchSize: 2, learnabilityRollouts: 2, sampling: { maxTokens: 24 } },
          executor: { workers: 1 },
        }),
      );
      const run = join(workspace, 'run');
      const lines: string[] = [];
      const outcome = await train(
        { config: configFile, steps: 3, out: run },
        { write: (text) => lines.push(text), isTerminal: false },
      );
      expect(outcome).toEqual({ runDirectory: run, step: 3, reason: 'completed' });

      const suite = join(workspace, 'suite.jsonl');
      await writeFile(
        suite,
        [
          {
            mode: 'deduction',
            language: 'javascript',
            code: 'function f(a) {\n  return a + 1;\n}',
            input: '1',
            output: '2',
          },
          {
            mode: 'abduction',
            language: 'javascript',
            code: 'function f(a) {\n  return a * 2;\n}',
            input: '3',
            output: '6',
          },
        ]
          .map((task) => JSON.stringify(task))
          .join('\n'),
      );
      const evaluation = await evaluateModel(
        { model: run, suite, maxTokens: 16, out: join(run, 'evaluation.json') },
        () => undefined,
      );
      expect(Object.keys(evaluation.modes).sort()).toEqual(['abduction', 'deduction']);
      const page = await writeReport(run);

      const browser = await chromium.launch({
        executablePath: browserPath,
        args: [
          '--no-sandbox',
          '--disable-gpu',
          '--disable-quic',
          '--no-first-run',
          '--disable-background-networking',
          '--disable-component-update',
          '--disable-sync',
        ],
      });
      try {
        const tab = await browser.newPage();
        const problems: string[] = [];
        const requests: string[] = [];
        tab.on('console', (message) => {
          if (message.type() === 'error') problems.push(message.text());
        });
        tab.on('pageerror', (error) => problems.push(error.message));
        tab.on('request', (request) => requests.push(request.url()));
        await tab.goto(pathToFileURL(page).href);
        expect(problems).toEqual([]);
        expect(requests.filter((url) => !url.startsWith('file:') && !url.startsWith('data:'))).toEqual([]);

        // A model from random weights proposes no valid task in 3 steps, so the charts of valid proposals
        // (difficulty, program length) say there is no data yet; every other chart draws all 3 steps.
        for (const id of ['difficulty', 'program-length'])
          expect(await tab.textContent(`#${id}`), id).toMatch(/No data yet|step/);
        for (const id of ['solve-rate', 'valid-rate', 'reward', 'diversity', 'throughput', 'step-time']) {
          const points = await tab.$$eval(`#${id} svg path.series`, (paths) =>
            paths.map((path) => Number(path.getAttribute('data-points'))),
          );
          expect(points.length, id).toBeGreaterThan(0);
          expect(Math.max(...points), id).toBe(3);
          const box = await tab.$eval(`#${id} svg`, (svg) => svg.getBoundingClientRect().width);
          expect(box, id).toBeGreaterThan(100);
        }
        expect(await tab.$$eval('table tbody tr', (rows) => rows.length)).toBe(2);

        const samples = (await readFile(join(run, 'samples.jsonl'), 'utf8')).trim().split('\n');
        const proposals = samples.filter((line) => line.includes('"role":"propose"')).length;
        expect(await tab.textContent('#sample-count')).toBe(`${samples.length} shown`);
        await tab.selectOption('#filter-role', 'propose');
        expect(await tab.textContent('#sample-count')).toBe(`${proposals} shown`);
      } finally {
        await browser.close();
      }
    });
  },
);
