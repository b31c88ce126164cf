import { defineScenarioSuite } from './define-scenario-suite.js';

/** Second half of the simulation scenarios (see `defineScenarioSuite`). */
defineScenarioSuite(['partition-flapping', 'clock-skew', 'dueling-no-jitter', 'grow-shrink', 'gc-under-load', 'many-keys', 'throwing-changes', 'aborts', 'counter', 'watch']);
