/**
 * The CommonJS side of the package, written after tsup's ES module build (`npm run build`).
 *
 * For each entry of package.json "exports", its "require" file is one line that loads the entry's
 * ES module, `module.exports = require('./index.js')` (`require(esm)`: unflagged from Node 20.19
 * and 22.12, the package's engines.node), so `require` and `import` reach the same module and the
 * same classes.
 * Its "require" types are the ES types renamed `.d.cts`, their relative imports included
 * (`./errors-XXXX.js` becomes `./errors-XXXX.cjs`), so TypeScript's node16 resolution reads a
 * CommonJS declaration graph where a CommonJS file imports, and node10 (typesVersions) too.
 */
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { posix } from 'node:path';

const root = new URL('../', import.meta.url);
const pkg = JSON.parse(readFileSync(new URL('package.json', root), 'utf8'));

let entries = 0;
for (const [subpath, target] of Object.entries(pkg.exports)) {
  if (typeof target === 'string') continue; // ./package.json
  const esm = target.import;
  const cjs = target.require;
  // The convention this script relies on; a package.json that breaks it fails the build here.
  const dir = posix.dirname(esm.default);
  if (
    esm.default !== `${dir}/${posix.basename(esm.default, '.js')}.js` ||
    cjs.default !== esm.default.replace(/\.js$/, '.cjs') ||
    esm.types !== esm.default.replace(/\.js$/, '.d.ts') ||
    cjs.types !== esm.types.replace(/\.d\.ts$/, '.d.cts') ||
    dir !== './dist'
  ) {
    throw new Error(`exports[${JSON.stringify(subpath)}]: expected { import: { types: ./dist/X.d.ts, default: ./dist/X.js }, require: { types: ./dist/X.d.cts, default: ./dist/X.cjs } }`);
  }
  const name = subpath === '.' ? 'caspaxos' : `caspaxos/${subpath.slice(2)}`;
  writeFileSync(
    new URL(cjs.default, root),
    `'use strict';\n// ${name} for require(): the ES module itself (require(esm)), one copy of every class for both.\nmodule.exports = require('./${posix.basename(esm.default)}');\n`,
  );
  entries++;
}

// Relative specifiers in declarations: `from './x.js'`, `import './x.js'`, `import('./x.js')`.
const relativeJs = /((?:\bfrom|\bimport)\s*\(?\s*)(['"])(\.\.?\/[^'"]+)\.js\2/g;
let declarations = 0;
for (const file of readdirSync(new URL('dist/', root))) {
  if (!file.endsWith('.d.ts')) continue;
  const text = readFileSync(new URL(`dist/${file}`, root), 'utf8');
  const cts = text.replace(relativeJs, (_, lead, quote, path) => `${lead}${quote}${path}.cjs${quote}`);
  const left = cts.match(/(['"])\.\.?\/[^'"]+\.js\1/);
  if (left !== null) throw new Error(`dist/${file}: a relative .js specifier was not rewritten: ${left[0]}`);
  writeFileSync(new URL(`dist/${file.replace(/\.d\.ts$/, '.d.cts')}`, root), cts);
  declarations++;
}
console.log(`require entries: ${entries} CommonJS files over the ES modules, ${declarations} .d.cts declarations`);
