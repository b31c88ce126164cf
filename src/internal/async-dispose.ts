/**
 * `Symbol.asyncDispose` in this package's types, for consumers whose TypeScript `lib` predates it
 * (before TypeScript 5.2, or without `esnext.disposable`): without this declaration their compiler
 * rejects every `[Symbol.asyncDispose]()` method in our `.d.ts` files. It matches the declaration
 * in TypeScript's own lib and in `@types/node`, so it merges with them. At run time Node >= 20.4 and
 * current browsers define the symbol; `close()` does the same thing everywhere.
 */
declare global {
  interface SymbolConstructor {
    readonly asyncDispose: unique symbol;
  }
}

/** Something with `close()` and `[Symbol.asyncDispose]()` that does the same (for `await using`). */
export interface Closeable {
  /** Releases what the object holds; idempotent. */
  close(): void | Promise<void>;
  /** `close()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void>;
}
