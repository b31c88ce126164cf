/**
 * Lesson 4: dueling proposers spoiling each other's rounds, randomised backoff ending the duel, and
 * the recovery of an unknown outcome.
 *
 * The lesson is the guided tour `duelingProposers` of `caspaxos/teach` (its steps, texts and
 * checkpoints are in src/teach/tours/04-dueling-proposers.ts); the playground runs the same tour
 * step by step. This prints it: each step's text, then what it did and why (the rule each receiver
 * applied), the diagrams and tables, and whether its checkpoint holds. It exits with status 1 if a
 * checkpoint does not hold.
 *
 * Run: npx tsx examples/lessons/04-dueling-proposers.ts
 */
import { duelingProposers, printTour } from 'caspaxos/teach';

if (!(await printTour(duelingProposers, (text) => console.log(text)))) process.exitCode = 1;
