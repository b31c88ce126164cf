/**
 * Lesson 6: deleting a key for good (paper §3.1): tombstones, the four steps of garbage collection,
 * and an old message fenced off by age.
 *
 * The lesson is the guided tour `deleteAndGc` of `caspaxos/teach` (its steps, texts and checkpoints
 * are in src/teach/tours/06-delete-and-gc.ts); the playground runs the same tour step by step. This
 * prints it: each step's text, then what it did and why (the rule each receiver applied), the
 * diagrams and tables, and whether its checkpoint holds. It exits with status 1 if a checkpoint
 * does not hold.
 *
 * Run: npx tsx examples/lessons/06-delete-and-gc.ts
 */
import { deleteAndGc, printTour } from 'caspaxos/teach';

if (!(await printTour(deleteAndGc, (text) => console.log(text)))) process.exitCode = 1;
