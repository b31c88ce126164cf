/**
 * Lesson 3: a lost accept, and why a read must write (paper §2.2): a value on one acceptor of
 * three, repaired onto a majority by the identity read that adopts it.
 *
 * The lesson is the guided tour `lostAcceptAndReadsWrite` of `caspaxos/teach` (its steps, texts and
 * checkpoints are in src/teach/tours/03-lost-accept-and-reads-write.ts); the playground runs the
 * same tour step by step. This prints it: each step's text, then what it did and why (the rule each
 * receiver applied), the diagrams and tables, and whether its checkpoint holds. It exits with
 * status 1 if a checkpoint does not hold.
 *
 * Run: npx tsx examples/lessons/03-lost-accept-and-reads-write.ts
 */
import { lostAcceptAndReadsWrite, printTour } from 'caspaxos/teach';

if (!(await printTour(lostAcceptAndReadsWrite, (text) => console.log(text)))) process.exitCode = 1;
