// The error-class table against the core's list of codes: every code has its own subclass of
// ModelplugError (none falls back to the base class), and a code from a newer core still
// arrives as a ModelplugError carrying it.
import assert from 'node:assert/strict';
import { test } from 'node:test';

import * as modelplug from '../dist/index.js';
import { fromNative } from '../dist/errors.js';
import { native } from '../dist/native.js';

const { ModelplugError, errorClass } = modelplug;

test('every code of the core maps to its own exported subclass', () => {
  const codes = native.errorCodes();
  assert.ok(codes.length >= 16 && codes.includes('CANCELLED'), String(codes));
  for (const code of codes) {
    const cls = errorClass(code);
    assert.notEqual(cls, ModelplugError, `${code} falls back to the base class`);
    assert.equal(cls.code, code);
    assert.equal(modelplug[cls.name], cls, `${cls.name} is not exported`);
    const error = fromNative({ code, message: 'm' });
    assert.equal(error.constructor, cls);
    assert.ok(error instanceof cls && error instanceof ModelplugError && error instanceof Error);
    assert.equal(error.code, code);
    assert.equal(error.name, cls.name);
  }
  assert.equal(new Set(codes.map(errorClass)).size, codes.length, 'two codes share a class');
});

test('an unknown code from a newer core is a ModelplugError carrying it', () => {
  const error = fromNative({ code: 'BUDGET_FROZEN', message: 'frozen', retryable: false });
  assert.equal(errorClass('BUDGET_FROZEN'), ModelplugError);
  assert.equal(error.constructor, ModelplugError);
  assert.ok(error instanceof ModelplugError && modelplug.isModelplugError(error));
  assert.ok(!(error instanceof modelplug.InternalError));
  assert.equal(error.code, 'BUDGET_FROZEN');
  assert.equal(error.toJSON().code, 'BUDGET_FROZEN');
  assert.equal(String(error), '[BUDGET_FROZEN] frozen');
});
