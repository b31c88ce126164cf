/**
 * Lesson 1: one CASPaxos round, message by message (paper §2.2): prepare, promise, accept,
 * accepted; quorums; late replies; a read is a round too.
 *
 * The lesson is the guided tour `basicRound` of `caspaxos/teach` (its steps, texts and checkpoints
 * are in src/teach/tours/01-basic-round.ts); the playground runs the same tour step by step. This
 * prints it: each step's text, then what it did and why (the rule each receiver applied), the
 * diagrams and tables, and whether its checkpoint holds. It exits with status 1 if a checkpoint
 * does not hold.
 *
 * Run: npx tsx examples/lessons/01-basic-round.ts
 */
import { basicRound, printTour } from 'caspaxos/teach';

if (!(await printTour(basicRound, (text) => console.log(text)))) process.exitCode = 1;
