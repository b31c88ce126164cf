/**
 * The playground's entry point (bundled to playground/dist/app.js by scripts/build-playground.mjs).
 * Module scripts run after the document is parsed, so the page's controls are all there.
 */
import { Playground } from './app.js';

new Playground(document);
