import { describe, expect, it } from 'vitest';
import { describeUserRepository, sampleRecord } from 'profile-picture/testing';
import { memoryUserRepository } from '../../src/index.js';

describeUserRepository('memory', { create: () => memoryUserRepository() });

describe('memoryUserRepository specifics', () => {
  it('keeps instances isolated', async () => {
    await memoryUserRepository().setPicture('42', sampleRecord('x'), null);
    expect(await memoryUserRepository().getPicture('42')).toBeNull();
  });
});
