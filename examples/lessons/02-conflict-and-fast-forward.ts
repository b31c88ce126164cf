/**
 * Lesson 2: conflicts. A refused prepare names the ballot that beat it; the loser moves its counter
 * past it (fast-forward) and re-runs its change on the winner's state (paper §2.2).
 *
 * The lesson is the guided tour `conflictAndFastForward` of `caspaxos/teach` (its steps, texts and
 * checkpoints are in src/teach/tours/02-conflict-and-fast-forward.ts); the playground runs the same
 * tour step by step. This prints it: each step's text, then what it did and why (the rule each
 * receiver applied), the diagrams and tables, and whether its checkpoint holds. It exits with
 * status 1 if a checkpoint does not hold.
 *
 * Run: npx tsx examples/lessons/02-conflict-and-fast-forward.ts
 */
import { conflictAndFastForward, printTour } from 'caspaxos/teach';

if (!(await printTour(conflictAndFastForward, (text) => console.log(text)))) process.exitCode = 1;
