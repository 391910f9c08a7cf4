/**
 * The widget's instant format check: an HEIC photo not in `accept` gets its own message (how to get a JPEG out of an
 * iPhone), any other refused format the generic one.
 */
import { describe, expect, it } from 'vitest';
import { checkFile } from '../../src/client/check-file.js';
import { gifAnimated, heic } from '../fixtures/index.js';

const CONFIG = { maxFileSize: 5 << 20, accept: ['image/jpeg', 'image/png'], minSide: 16, fieldName: 'profile_picture' };

describe('checkFile', () => {
  it('refuses an HEIC photo with the heic message when accept leaves it out', async () => {
    expect(await checkFile(new Blob([new Uint8Array(heic())]), CONFIG)).toEqual({ ok: false, code: 'UNSUPPORTED_TYPE', message: 'heic' });
  });

  it('lets an HEIC photo through when accept lists it (the server decides)', async () => {
    expect(await checkFile(new Blob([new Uint8Array(heic())]), { ...CONFIG, accept: [...CONFIG.accept, 'image/heic'] })).toEqual({ ok: true, type: 'image/heic' });
  });

  it('refuses another format with the generic message', async () => {
    expect(await checkFile(new Blob([new Uint8Array(await gifAnimated())]), CONFIG)).toEqual({ ok: false, code: 'UNSUPPORTED_TYPE', message: 'unsupported' });
  });
});
