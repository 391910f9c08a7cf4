// Types only: what this app keeps in the session (read by `// @ts-check` in the .js files).
import 'express-session';

declare module 'express-session' {
  interface SessionData {
    /** The signed-in account's id. */
    userId?: string;
  }
}
