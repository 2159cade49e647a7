// App start hook (not a function): validate every setting when the worker loads the app, so a missing or
// malformed setting is reported once, clearly, at start-up instead of on each function's first run.
import { app } from '@azure/functions';
import { appRuntime } from '../lib/app/runtime.js';
import { initTelemetry } from '../lib/telemetry/init.js';

// Telemetry first, as the worker loads the app (a no-op without APPLICATIONINSIGHTS_CONNECTION_STRING).
initTelemetry(process.env);

app.hook.appStart(() => {
  appRuntime(process.env); // throws ConfigError naming every bad setting (values never echoed)
});
