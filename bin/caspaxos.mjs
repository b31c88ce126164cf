#!/usr/bin/env node
// The `caspaxos` command (see src/cli/index.ts, or run `caspaxos --help`).
let cli;
try {
  cli = await import('../dist/cli.js');
} catch (error) {
  // The command logs through pino, an optional peer dependency of the package (library users do
  // not install it): name what to install in one line, as src/internal/optional-package.ts does.
  if (error?.code === 'ERR_MODULE_NOT_FOUND' && String(error.message).includes("package 'pino'")) {
    console.error('caspaxos needs the optional package pino: npm install pino');
    process.exit(2);
  }
  throw error;
}
await cli.run(process.argv.slice(2));
