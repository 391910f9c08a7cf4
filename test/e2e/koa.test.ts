/** The core browser scenario against the Koa example (`examples/koa-app`). */
import { describeBrowserScenario } from './scenario.js';

describeBrowserScenario('koa-app');
