/** The in-process key guard: which deletes run, and what an upload holding a key must wait for. */
import { describe, expect, it } from 'vitest';
import { createKeyGuard } from '../../src/key-guard.js';

/** A delete the test settles by hand. */
function manualDelete() {
  let finish!: () => void;
  const started: string[] = [];
  const gate = new Promise<void>((resolve) => (finish = resolve));
  return { started, finish, remove: (key: string) => (started.push(key), gate) };
}

describe('key guard', () => {
  it('starts deletes only for unheld keys and hands them back', async () => {
    const guard = createKeyGuard();
    guard.hold(['a']);
    const deletes = guard.deleteUnheld(['a', 'b', 'b'], async () => {});
    expect(deletes.map(({ key }) => key)).toEqual(['b']);
    await Promise.all(deletes.map(({ done }) => done));
  });

  it('settle() waits for every running delete of a key, not only the latest one', async () => {
    const guard = createKeyGuard();
    const hung = manualDelete();
    guard.deleteUnheld(['k'], hung.remove);
    const [second] = guard.deleteUnheld(['k'], async () => {});
    await second!.done;
    guard.hold(['k']);
    let settled: string[] | undefined;
    const settling = guard.settle(['k']).then((lost) => (settled = lost));
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBeUndefined(); // the first delete may still land after the upload rewrote the key
    hung.finish();
    await settling;
    expect(settled).toEqual(['k']);
  });
});
