/**
 * The mark of a storage or repository whose data lives in the memory of one process (`memoryStorage()`,
 * `memoryUserRepository()`). Another process that builds the service on one — the CLI, a cron script — starts with
 * it empty and sees none of the app's data: to its `sweep()` every stored picture is an orphan. The CLI reads the mark
 * to refuse such a config. A registered symbol, so that `dist/cli.js`, which shares no code with the library, finds
 * the same one.
 */
export const PROCESS_LOCAL = Symbol.for('profile-picture.process-local');

/** Returns `value` marked as {@link PROCESS_LOCAL} (enumerable, so `{ ...memoryStorage(), … }` keeps the mark). */
export function markProcessLocal<T extends object>(value: T): T {
  return Object.assign(value, { [PROCESS_LOCAL]: true });
}
