import { describe, expect, it } from 'vitest';
import { memoryUserRepository } from '../../src/index.js';
import { describeUserRepository, sampleRecord } from './user-repository-suite.js';

describeUserRepository('memory', { create: () => memoryUserRepository() });

describe('memoryUserRepository specifics', () => {
  it('keeps instances isolated', async () => {
    await memoryUserRepository().setPicture('42', sampleRecord('x'), null);
    expect(await memoryUserRepository().getPicture('42')).toBeNull();
  });
});
