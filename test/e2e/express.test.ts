/** The core browser scenario against the Express example (`examples/express-app`). */
import { describeBrowserScenario } from './scenario.js';

describeBrowserScenario('express-app');
