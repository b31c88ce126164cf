/**
 * Optional peer dependencies: packages that only some entries use (`lmdb` for `caspaxos/lmdb` and
 * the acceptor command, `pino` for the command line), declared optional in package.json's
 * `peerDependenciesMeta` so that a library user installs none of them. Code that needs one loads
 * it with `importOptional`, which turns "not installed" into a one-line error naming the package
 * to install, instead of Node's stack for an `import` that failed to resolve.
 */

/** An optional package that is not installed. `code` stays Node's, for code that checks it. */
export class MissingPackageError extends Error {
  readonly code = 'ERR_MODULE_NOT_FOUND';

  constructor(
    /** The package to install. */
    readonly packageName: string,
    /** What needs it, as the user knows it: `caspaxos/lmdb`, `caspaxos acceptor`. */
    neededBy: string,
    options: { readonly cause: unknown },
  ) {
    super(`${neededBy} needs the optional package ${packageName}: npm install ${packageName}`, options);
    this.name = 'MissingPackageError';
  }
}

/**
 * Runs `load` (a literal `() => import('name')`, so that types and bundlers see the specifier) and
 * rejects with a `MissingPackageError` when it failed because `name` itself is not installed. Any
 * other failure, a broken install of `name` or a package `name` needs included, is rethrown as is.
 */
export async function importOptional<M>(packageName: string, neededBy: string, load: () => Promise<M>): Promise<M> {
  try {
    return await load();
  } catch (error) {
    if (isNotInstalled(error, packageName)) throw new MissingPackageError(packageName, neededBy, { cause: error });
    throw error;
  }
}

/** Node's error for an `import` of a package that resolution did not find, naming that package. */
export function isNotInstalled(error: unknown, packageName: string): boolean {
  if (typeof error !== 'object' || error === null) return false;
  const { code, message } = error as { code?: unknown; message?: unknown };
  // "Cannot find package 'lmdb' imported from /app/node_modules/caspaxos/dist/lmdb.js"
  return code === 'ERR_MODULE_NOT_FOUND' && typeof message === 'string' && message.includes(`package '${packageName}'`);
}
