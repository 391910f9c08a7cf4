import { describe, expect, it } from 'vitest';
import { createLimiter } from '../../src/limiter.js';

describe('createLimiter', () => {
  it('grants up to `concurrency` slots, queues up to `maxQueue`, and refuses the rest with null', async () => {
    const limiter = createLimiter({ concurrency: 2, maxQueue: 1 });
    const a = await limiter.acquire()!;
    await limiter.acquire()!;
    const queued = limiter.acquire();
    expect(queued).toBeInstanceOf(Promise);
    expect(limiter.acquire()).toBeNull();
    expect({ active: limiter.active, queued: limiter.queued }).toEqual({ active: 2, queued: 1 });
    a();
    await queued;
    expect({ active: limiter.active, queued: limiter.queued }).toEqual({ active: 2, queued: 0 });
  });

  it('serves waiters first in, first out, and a release is idempotent', async () => {
    const limiter = createLimiter({ concurrency: 1, maxQueue: 3 });
    const release = await limiter.acquire()!;
    const order: string[] = [];
    const waiters = ['b', 'c', 'd'].map((name) => limiter.acquire()!.then((next) => (order.push(name), next)));
    release();
    release(); // a second call must not free a second slot
    await waiters[0];
    expect(order).toEqual(['b']);
    expect(limiter.active).toBe(1);
    for (const waiter of waiters) (await waiter)();
    expect(order).toEqual(['b', 'c', 'd']);
    expect(limiter.active).toBe(0);
  });

  it('an aborted waiter leaves the queue and rejects with the abort reason', async () => {
    const limiter = createLimiter({ concurrency: 1, maxQueue: 1 });
    const release = await limiter.acquire()!;
    const controller = new AbortController();
    const waiting = limiter.acquire(controller.signal)!;
    controller.abort(new Error('gone'));
    await expect(waiting).rejects.toThrow('gone');
    expect(limiter.queued).toBe(0);
    const next = limiter.acquire();
    expect(next).toBeInstanceOf(Promise);
    release();
    (await next!)();
    expect(limiter.active).toBe(0);
  });

  it('rejects invalid sizes with a message naming the option', () => {
    expect(() => createLimiter({ concurrency: 0, maxQueue: 1 })).toThrow(
      '[profile-picture] Expected a positive integer for `concurrency` but received 0',
    );
    expect(() => createLimiter({ concurrency: 1, maxQueue: -1 })).toThrow(
      '[profile-picture] Expected a non-negative integer for `maxQueue` but received -1',
    );
  });
});
