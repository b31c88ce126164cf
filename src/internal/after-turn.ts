/**
 * `afterTurn(fn)`: runs `fn` once the current event-loop turn is done, so that work started in one
 * turn (several requests read from sockets in one poll, and everything they trigger) can be
 * gathered and handled together. `setImmediate` in Node: after the poll phase, before timers, so a
 * lone piece of work waits a few microseconds at most; a zero timeout where there is none (a
 * browser).
 */
type Schedule = (fn: () => void) => void;

const immediate = (globalThis as { setImmediate?: (fn: () => void) => unknown }).setImmediate;

export const afterTurn: Schedule = typeof immediate === 'function' ? (fn) => void immediate(fn) : (fn) => void setTimeout(fn, 0);
