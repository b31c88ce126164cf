/**
 * Guided tours: a lesson as data, so that the same steps print as a lesson in a terminal
 * (`printTour`, examples/lessons), run as a guided tour in the playground, and run in a notebook.
 * Each step has a text (what happens and why), an action on the cluster that resolves with what
 * it shows, a checkpoint (a claim about the cluster that must hold afterwards) and things to try.
 *
 * A tour is started afresh each time (`start`), on clusters built from fixed seeds, so a step
 * shows the same thing every time. Started with `breaks`, the same steps run on a cluster with a
 * rule of the protocol broken: the checkpoints that no longer hold show what the rule was for.
 */
import type { ClusterOptions } from '../options.js';
import type { RuleBreak } from '../rule-break.js';
import { type TeachingCluster, createCluster } from '../teaching-cluster.js';

/** A claim about the cluster that should hold after a step. */
export interface Checkpoint {
  /** The claim: `all three acceptors promised 1/p2`. */
  readonly claim: string;
  /** Whether it holds now. */
  holds(): boolean;
}

/** One step of a tour. */
export interface TourStep {
  /** A heading: `Phase 1: a1 and a2 receive the prepare`. */
  readonly title: string;
  /** What the step does and why, in paragraphs separated by blank lines. */
  readonly text: string;
  /** Does the step; resolves with what it shows, as lines of text (explanations, tables, diagrams). */
  run(): Promise<readonly string[]>;
  /** What must hold afterwards, if anything. */
  readonly checkpoint?: Checkpoint | undefined;
  /** Things to try on your own at this point (in the playground, or in a notebook). */
  readonly tryThis?: readonly string[] | undefined;
}

/** A started tour: its steps, and the cluster they work on. */
export interface TourRun {
  /** The tour. */
  readonly tour: Tour;
  /** Its steps, in order; run each once, in order. */
  readonly steps: readonly TourStep[];
  /** The cluster the tour works on now (a tour may move to a fresh one part way). */
  readonly cluster: TeachingCluster;
}

/** Options of `Tour.start`. */
export interface TourStartOptions {
  /** Rules to break on every cluster the tour builds (see `counterexamples`). @default [] */
  readonly breaks?: readonly RuleBreak[] | undefined;
}

/** A guided tour (see the module). */
export interface Tour {
  /** A stable name: `conflict-and-fast-forward`. */
  readonly id: string;
  /** The lesson's number (1 to 6), for the lessons. */
  readonly lesson: number | undefined;
  /** `Conflict and fast-forward`. */
  readonly title: string;
  /** What it teaches, in a paragraph. */
  readonly summary: string;
  /** Starts the tour on fresh clusters. */
  start(options?: TourStartOptions): TourRun;
}

/** What a tour's `build` gets: the way to make its clusters. */
export interface TourContext {
  /** Builds a cluster (with the tour's `breaks`) and makes it the tour's current one. */
  cluster(options: ClusterOptions): TeachingCluster;
}

/** Defines a tour: `build` makes its clusters through the context and returns its steps. */
export function defineTour(meta: { readonly id: string; readonly lesson?: number; readonly title: string; readonly summary: string }, build: (context: TourContext) => readonly TourStep[]): Tour {
  const tour: Tour = {
    id: meta.id,
    lesson: meta.lesson,
    title: meta.title,
    summary: meta.summary,
    start(options: TourStartOptions = {}) {
      let current: TeachingCluster | undefined;
      const steps = build({
        cluster: (clusterOptions) => {
          current = createCluster({ ...clusterOptions, breaks: [...(clusterOptions.breaks ?? []), ...(options.breaks ?? [])] });
          return current;
        },
      });
      return {
        tour,
        steps,
        get cluster(): TeachingCluster {
          if (current === undefined) throw new Error(`tour ${meta.id} built no cluster`);
          return current;
        },
      };
    },
  };
  return Object.freeze(tour);
}

/** A step whose action is `run` (lines it resolves with are shown; `undefined` shows nothing). */
export function step(title: string, text: string, run: () => Promise<readonly string[] | void> | readonly string[] | void, more: { checkpoint?: Checkpoint; tryThis?: readonly string[] } = {}): TourStep {
  return {
    title,
    text,
    run: async () => (await run()) ?? [],
    checkpoint: more.checkpoint,
    tryThis: more.tryThis,
  };
}

/** Prints a tour as a lesson: headings, texts, what each step shows, checkpoints. Resolves with whether every checkpoint held. */
export async function printTour(tour: Tour, print: (text: string) => void, options: TourStartOptions = {}): Promise<boolean> {
  const run = tour.start(options);
  let held = true;
  print(`# ${tour.lesson === undefined ? '' : `Lesson ${tour.lesson}: `}${tour.title}\n\n${wrap(tour.summary)}\n`);
  for (const s of run.steps) {
    print(`## ${s.title}\n\n${wrap(s.text)}\n`);
    const lines = await s.run();
    if (lines.length > 0) print(`${lines.join('\n').replace(/\n+$/, '')}\n`);
    if (s.checkpoint !== undefined) {
      const ok = s.checkpoint.holds();
      held &&= ok;
      print(`${ok ? '✓' : '✗'} checkpoint: ${s.checkpoint.claim}${ok ? '' : ' (does NOT hold)'}\n`);
    }
    for (const idea of s.tryThis ?? []) print(`try this: ${idea}`);
    if ((s.tryThis ?? []).length > 0) print('');
  }
  return held;
}

/** Paragraphs wrapped at `width` columns (a paragraph is separated by a blank line). */
export function wrap(text: string, width = 100): string {
  return text
    .split(/\n\s*\n/)
    .map((paragraph) => {
      const words = paragraph.split(/\s+/).filter((w) => w !== '');
      const lines: string[] = [];
      let line = '';
      for (const word of words) {
        if (line !== '' && line.length + 1 + word.length > width) {
          lines.push(line);
          line = word;
        } else line = line === '' ? word : `${line} ${word}`;
      }
      if (line !== '') lines.push(line);
      return lines.join('\n');
    })
    .join('\n\n');
}
