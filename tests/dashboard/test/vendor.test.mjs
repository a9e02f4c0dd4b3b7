// The vendored uPlot is the pinned npm release, byte for byte (no hand-edited copy, no CDN).
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { test } from 'node:test';

import { REPO } from '../harness.mjs';

const VENDOR = join(REPO, 'collector', 'dashboard', 'vendor');
const FILES = ['uPlot.iife.min.js', 'uPlot.min.css'];
const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));

test('collector/dashboard/vendor holds uPlot exactly as the pinned npm package ships it', () => {
  assert.ok(existsSync(VENDOR), `${VENDOR} is missing: vendor uPlot ${pkg.devDependencies.uplot} there`);
  const dist = join(dirname(createRequire(import.meta.url).resolve('uplot/package.json')), 'dist');
  const installed = JSON.parse(readFileSync(join(dist, '..', 'package.json'), 'utf8')).version;
  assert.equal(installed, pkg.devDependencies.uplot, 'node_modules/uplot is not the pinned version: npm ci');
  for (const f of FILES) {
    const vendored = join(VENDOR, f);
    assert.ok(existsSync(vendored), `${vendored} is missing`);
    assert.ok(readFileSync(vendored).equals(readFileSync(join(dist, f))), `${vendored} differs from uplot@${installed}'s dist/${f}`);
  }
  assert.ok(existsSync(join(VENDOR, 'uPlot.LICENSE')) || existsSync(join(VENDOR, 'LICENSE')), 'uPlot is MIT: keep its licence beside it');
});
