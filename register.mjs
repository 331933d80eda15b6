// `node --import connkit/register app.mjs`: the same for `import`, through a module
// resolve hook, and for `require` (CommonJS loaded from ESM, generated code) too.
import { register } from 'node:module';
import './register.js';

register('./lib/redirect-hooks.mjs', import.meta.url);
