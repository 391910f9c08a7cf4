// Types only: what this app keeps in the session (read by `// @ts-check` in the .js files).
import 'express-session';

declare module 'express-session' {
  interface SessionData {
    /** The signed-in account's id. */
    userId?: string;
    /** A refused picture change's words for the next profile page (shared/refusal-notice.js). */
    pictureNotice?: import('../shared/refusal-notice.js').RefusalNotice;
  }
}
