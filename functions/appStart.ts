// App start hook (not a function): validate every setting when the worker loads the app, so a missing or
// malformed setting is reported once, clearly, at start-up instead of on each function's first run.
import { app } from '@azure/functions';
import { appRuntime } from '../lib/app/runtime.js';

app.hook.appStart(() => {
  appRuntime(process.env); // throws ConfigError naming every bad setting (values never echoed)
});
