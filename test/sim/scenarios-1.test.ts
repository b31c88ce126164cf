import { defineScenarioSuite } from './define-scenario-suite.js';

/** First half of the simulation scenarios (see `defineScenarioSuite`). */
defineScenarioSuite(['calm-contention', 'reorder', 'request-loss', 'reply-loss', 'duplicates', 'partition-minority', 'partition-majority', 'partition-one-way', 'acceptor-crash', 'proposer-crash']);
