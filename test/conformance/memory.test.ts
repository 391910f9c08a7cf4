import { describe, expect, it } from 'vitest';
import { describeStorageAdapter, listKeys, pattern } from 'profile-picture/testing';
import { memoryStorage } from '../../src/index.js';

describeStorageAdapter('memory', {
  create: () => memoryStorage(),
  additionalTests: ({ storage }) => {
    describe('memory specifics', () => {
      it('keeps instances isolated', async () => {
        await storage().put('u/1/a.webp', pattern(4, 1), { contentType: 'image/webp' });
        expect(await listKeys(memoryStorage(), '')).toEqual([]);
      });
    });
  },
});
