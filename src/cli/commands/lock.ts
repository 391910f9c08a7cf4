/** `profile-picture lock <userId> [--reason <text>]` and `unlock <userId>`: `pictures.lock()` / `unlock()`. */
import { UsageError, type Command } from '../command.js';

export const lock: Command = {
  name: 'lock',
  summary: 'Stop one user from changing their picture (uploads get 403 LOCKED)',
  description:
    "Locks the user's picture: their uploads are refused with 403 LOCKED, on every app instance, and --reason is " +
    'shown to them. The current picture stays; take it down with the app (pictures.remove()). Locking again with ' +
    'another reason replaces the reason. Undo with `profile-picture unlock <userId>`.',
  positionals: ['userId'],
  options: {
    reason: { type: 'string', valueName: 'text', description: 'Why, in words for the user (at most 500 characters)' },
  },
  needs: ['lock'],
  async run({ pictures, positionals, values }) {
    const userId = positionals[0]!;
    const reason = (values.reason as string | undefined) ?? '';
    const changed = await pictures.lock(userId, reason).catch((error: unknown) => {
      // lock() refuses a reason over its length limit with a RangeError before it reads anything: the value typed is
      // wrong (exit 2), nothing failed.
      if (error instanceof RangeError) throw new UsageError(`--reason: ${error.message.replace(/^\[profile-picture\] /, '')}`, 'lock');
      throw error;
    });
    const why = reason === '' ? '' : ` (reason: ${reason})`;
    const line = changed ? `locked user ${userId}${why}` : `user ${userId} was already locked${why}`;
    return { json: { userId, locked: true, changed, reason }, lines: [line] };
  },
};

export const unlock: Command = {
  name: 'unlock',
  summary: 'Let a locked user change their picture again',
  description: 'Lifts `profile-picture lock`: the user may upload again. Unlocking a user who is not locked changes nothing.',
  positionals: ['userId'],
  needs: ['unlock'],
  async run({ pictures, positionals }) {
    const userId = positionals[0]!;
    const changed = await pictures.unlock(userId);
    return { json: { userId, locked: false, changed }, lines: [changed ? `unlocked user ${userId}` : `user ${userId} was not locked`] };
  },
};
