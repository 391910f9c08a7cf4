import { expect, it } from 'vitest';
import { ERROR_CODES } from '../../src/index.js';

it('has a code table', () => {
  expect(ERROR_CODES.FILE_TOO_LARGE.status).toBe(413);
});
