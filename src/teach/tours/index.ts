/**
 * The six lessons as guided tours (see `tour.ts`): printed by examples/lessons, run step by step
 * in the playground and in notebooks.
 */
import { basicRound } from './01-basic-round.js';
import { conflictAndFastForward } from './02-conflict-and-fast-forward.js';
import { lostAcceptAndReadsWrite } from './03-lost-accept-and-reads-write.js';
import { duelingProposers } from './04-dueling-proposers.js';
import { growTheCluster } from './05-grow-the-cluster.js';
import { deleteAndGc } from './06-delete-and-gc.js';
import type { Tour } from './tour.js';

export { basicRound, conflictAndFastForward, deleteAndGc, duelingProposers, growTheCluster, lostAcceptAndReadsWrite };
export { type Checkpoint, type Tour, type TourContext, type TourRun, type TourStartOptions, type TourStep, defineTour, printTour, step } from './tour.js';

/** The six lessons, in order. */
export const lessons: readonly Tour[] = Object.freeze([basicRound, conflictAndFastForward, lostAcceptAndReadsWrite, duelingProposers, growTheCluster, deleteAndGc]);
