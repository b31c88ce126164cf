/**
 * Lesson 5: growing the cluster from 3 to 4 and 5 acceptors in the paper's three steps (§2.3), and
 * why the identity pass matters.
 *
 * The lesson is the guided tour `growTheCluster` of `caspaxos/teach` (its steps, texts and
 * checkpoints are in src/teach/tours/05-grow-the-cluster.ts); the playground runs the same tour
 * step by step. This prints it: each step's text, then what it did and why (the rule each receiver
 * applied), the diagrams and tables, and whether its checkpoint holds. It exits with status 1 if a
 * checkpoint does not hold.
 *
 * Run: npx tsx examples/lessons/05-grow-the-cluster.ts
 */
import { growTheCluster, printTour } from 'caspaxos/teach';

if (!(await printTour(growTheCluster, (text) => console.log(text)))) process.exitCode = 1;
