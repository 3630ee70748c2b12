'use strict';
/*
 * Preload for `artillery run` (NODE_OPTIONS="--require ./loadtest/artillery/no-telemetry.js"):
 * artillery 2.0.21 sends an anonymized "test run" event to app.posthog.com even with
 * ARTILLERY_DISABLE_TELEMETRY set (the variable only strips the event's properties), and
 * waits for it at exit (~12 s where DNS is unreachable). This replaces the posthog-node
 * client with a no-op, so a run makes no connection except to the target.
 */
const Module = require('node:module');

const load = Module._load;
Module._load = function loadWithoutPosthog(request, ...rest) {
  if (request === 'posthog-node') {
    return {
      PostHog: class NoTelemetry {
        capture() {}

        async shutdownAsync() {}
      },
    };
  }
  return load.call(this, request, ...rest);
};
