#!/usr/bin/env node
// The `caspaxos` command (see src/cli/index.ts, or run `caspaxos --help`).
import { run } from '../dist/cli.js';

await run(process.argv.slice(2));
