/**
 * The playground: a `TeachingCluster` (caspaxos/teach) driven from buttons, in three modes: free
 * play on a cluster you build, the six lessons as guided tours, and counterexamples (a rule of the
 * protocol broken on purpose, and the library's checkers catching it). In the guided modes the
 * cluster is the tour's, and every button still works on it ("try this").
 *
 * Each click becomes an action on a queue, so actions run one at a time and in click order even
 * though delivering a message is asynchronous; after each action the whole view is rebuilt from
 * the cluster, which is the only state that matters (plus the tour's position, the log and which
 * nodes the learner isolated).
 *
 * `<body data-ready>` marks the first render, `data-actions="N"` counts finished actions and
 * `data-busy` says whether one is running: a test clicks, then waits for the count to move.
 */
import {
  type Change,
  type TeachingCluster,
  type TourRun,
  append,
  counterexamples,
  createCluster,
  increment,
  lessons,
  read,
  remove,
  set,
} from '../../src/teach/index.js';
import { byTestId, h, setOptions } from './dom.js';
import {
  type MessageRow,
  type NodeView,
  type TourView,
  errorMessage,
  ms,
  renderAcceptors,
  renderDiagram,
  renderExplanations,
  renderFences,
  renderMessages,
  renderNodes,
  renderOperations,
  renderTour,
  renderValues,
} from './views.js';

/** What the cluster form asks for. */
export interface ClusterSettings {
  readonly acceptors: number;
  readonly proposers: number;
  readonly seed: number;
  readonly oneRoundTrip: boolean;
}

/** Free play on a cluster you build, a lesson as a guided tour, or a counterexample. */
type Mode = 'free' | 'lessons' | 'counterexamples';

/** Lines the log keeps; older ones scroll away (the diagram keeps the whole story). */
const LOG_LIMIT = 500;
const ZOOMS = [0.5, 0.67, 0.8, 1, 1.25, 1.5, 2];

/** What an action reports: a line, several, or nothing. */
type Outcome = string | readonly string[] | undefined;

const CHANGES: Record<string, ((value: string) => Change) | undefined> = {
  set: (value) => set(value),
  append: (value) => append(value),
  increment: () => increment,
  read: () => read,
  delete: () => remove,
};
/** Changes that take the value field. */
const TAKES_VALUE = new Set(['set', 'append']);

export class Playground {
  readonly #doc: Document;
  #mode: Mode = 'free';
  #free: TeachingCluster;
  #tour: { run: TourRun; index: number; ran: boolean; output: readonly string[]; held: boolean | undefined } | undefined;
  /** The cluster the isolated set belongs to: a new cluster starts with nothing isolated. */
  #isolatedOf: TeachingCluster | undefined;
  readonly #isolated = new Set<string>();
  #log: string[] = [];
  #queue: Promise<void> = Promise.resolve();
  #actions = 0;
  /** The story's length before the last action: what it added is highlighted. */
  #latestFrom = 0;
  #zoom = 1;

  constructor(doc: Document) {
    this.#doc = doc;
    this.#free = this.#build(this.#settings());
    this.#bind();
    this.#render(undefined);
    doc.body.dataset.ready = 'true';
  }

  /** The cluster the page shows and drives: the free one, or the tour's. */
  get #cluster(): TeachingCluster {
    return this.#mode === 'free' || this.#tour === undefined ? this.#free : this.#tour.run.cluster;
  }

  // ---- actions ------------------------------------------------------------------------------

  /** Queues `run`; when it is done (or has failed), logs what it said and rebuilds the view. */
  #act(run: () => Outcome | Promise<Outcome>): void {
    const body = this.#doc.body;
    this.#queue = this.#queue
      .then(async () => {
        body.dataset.busy = 'true';
        this.#latestFrom = this.#cluster.mark();
        let failure: unknown;
        try {
          this.#note(await run());
        } catch (error) {
          failure = error;
          this.#note(`refused: ${errorMessage(error)}`);
        }
        this.#actions += 1;
        this.#render(failure);
      })
      .catch((error: unknown) => {
        // Only a bug in the page itself lands here; say so where developers (and tests) look.
        console.error('playground: could not render', error);
      })
      .finally(() => {
        body.dataset.busy = 'false';
        body.dataset.actions = String(this.#actions);
      });
  }

  #build(settings: ClusterSettings): TeachingCluster {
    const cluster = createCluster({ acceptors: settings.acceptors, proposers: settings.proposers, seed: settings.seed, oneRoundTrip: settings.oneRoundTrip });
    this.#log = [];
    this.#note(
      `new cluster: seed ${settings.seed}, acceptors ${cluster.acceptors().map((a) => a.address).join(', ')}, proposers ${this.#proposersOf(cluster).join(', ')}` +
        (settings.oneRoundTrip ? ', one round trip' : ''),
    );
    return cluster;
  }

  /** Starts a guided tour (a lesson, or a counterexample's scenario). */
  #startTour(run: TourRun, what: string): string {
    this.#tour = { run, index: 0, ran: false, output: [], held: undefined };
    this.#log = [];
    this.#latestFrom = 0;
    return `start ${what}`;
  }

  #startLesson(): string {
    const index = Number(byTestId<HTMLSelectElement>('lesson').value);
    const tour = lessons[index] ?? lessons[0];
    if (tour === undefined) throw new Error('no lessons');
    return this.#startTour(tour.start(), `lesson ${tour.lesson}: ${tour.title}`);
  }

  #startCounterexample(): string {
    const chosen = this.#doc.querySelector<HTMLInputElement>('input[name="switch"]:checked')?.value;
    const cx = counterexamples.find((c) => c.rule.id === chosen) ?? counterexamples[0];
    if (cx === undefined) throw new Error('no counterexamples');
    const broken = byTestId<HTMLInputElement>('broken').checked;
    return this.#startTour(cx.start({ broken }), `${cx.rule.title} (${broken ? 'rule broken' : 'real protocol'})`);
  }

  #bind(): void {
    for (const tab of this.#doc.querySelectorAll<HTMLButtonElement>('.modes button')) {
      tab.addEventListener('click', () =>
        this.#act(() => {
          this.#mode = tab.dataset.mode as Mode;
          if (this.#mode === 'lessons') return this.#startLesson();
          if (this.#mode === 'counterexamples') return this.#startCounterexample();
          this.#tour = undefined;
          return 'free play';
        }),
      );
    }
    const lesson = byTestId<HTMLSelectElement>('lesson');
    lesson.replaceChildren(...lessons.map((t, i) => h('option', { value: String(i) }, `${t.lesson}. ${t.title}`)));
    lesson.addEventListener('change', () => this.#act(() => this.#startLesson()));
    byTestId('switches').replaceChildren(
      ...counterexamples.map((c, i) => {
        const input = h('input', { type: 'radio', name: 'switch', value: c.rule.id, 'data-testid': `switch-${c.rule.id}`, checked: i === 0 });
        input.addEventListener('change', () => this.#act(() => this.#startCounterexample()));
        return h('label', { class: 'switch' }, input, h('span', {}, h('strong', {}, c.rule.title), h('span', { class: 'rule' }, c.rule.rule)));
      }),
    );
    byTestId('broken').addEventListener('change', () => this.#act(() => this.#startCounterexample()));
    this.#click('tour-run', async () => {
      const tour = this.#tour;
      const step = tour?.run.steps[tour.index];
      if (tour === undefined || step === undefined || tour.ran) return undefined;
      tour.ran = true; // even if it throws: a step runs once
      tour.output = await step.run();
      tour.held = step.checkpoint?.holds();
      return `step ${tour.index + 1}: ${step.title}`;
    });
    this.#click('tour-next', () => {
      const tour = this.#tour;
      if (tour === undefined || !tour.ran || tour.index + 1 >= tour.run.steps.length) return undefined;
      tour.index += 1;
      tour.ran = false;
      tour.output = [];
      tour.held = undefined;
      return undefined;
    });
    this.#click('tour-restart', () => (this.#mode === 'lessons' ? this.#startLesson() : this.#startCounterexample()));

    const clusterForm = this.#doc.getElementById('cluster-form') as HTMLFormElement;
    clusterForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#act(() => {
        const next = this.#build(this.#settings()); // throws on a bad seed, keeping the old cluster
        this.#free.close();
        this.#free = next;
        return undefined;
      });
    });

    const proposeForm = this.#doc.getElementById('propose-form') as HTMLFormElement;
    const change = byTestId<HTMLSelectElement>('change');
    const value = byTestId<HTMLInputElement>('value');
    const syncValue = (): void => {
      value.disabled = !TAKES_VALUE.has(change.value);
    };
    change.addEventListener('change', syncValue);
    syncValue();
    proposeForm.addEventListener('submit', (event) => {
      event.preventDefault();
      const proposer = byTestId<HTMLSelectElement>('proposer').value;
      const key = byTestId<HTMLInputElement>('key').value;
      const make = CHANGES[change.value];
      const text = value.value;
      this.#act(() => {
        if (make === undefined) throw new Error(`unknown change ${change.value}`);
        const op = this.#cluster.propose(proposer, key, make(text));
        return `start #${op.id} ${op.label} (${this.#cluster.messages().length} in flight)`;
      });
    });

    this.#click('gc', () => {
      const op = this.#cluster.gc(byTestId<HTMLInputElement>('key').value);
      return `start #${op.id} ${op.label}`;
    });
    this.#click('grow', () => {
      const taken = new Set(this.#cluster.acceptors().map((a) => a.address));
      let n = taken.size + 1;
      while (taken.has(`a${n}`)) n += 1;
      const op = this.#cluster.grow(`a${n}`);
      return `start #${op.id} ${op.label}`;
    });
    this.#click('shrink', () => {
      const op = this.#cluster.shrink(byTestId<HTMLSelectElement>('shrink-target').value);
      return `start #${op.id} ${op.label}`;
    });

    this.#click('step', async () => {
      const said = await this.#cluster.step();
      byTestId('last-step').textContent = said === undefined ? 'Step: nothing left to happen.' : `Step ran:\n${said.trim()}`;
      return said?.split('\n')[0] ?? 'nothing left to happen';
    });
    this.#click('run-settled', async () => this.#ran(await this.#cluster.runUntilSettled(), 'every operation settled'));
    this.#click('run-idle', async () => this.#ran(await this.#cluster.runUntilIdle(), 'nothing is in flight'));
    this.#click('heal', () => {
      this.#cluster.heal();
      this.#isolated.clear();
      return 'heal every partition';
    });
    this.#click('zoom-in', () => this.#zoomBy(1));
    this.#click('zoom-out', () => this.#zoomBy(-1));
    this.#click('zoom-reset', () => {
      this.#zoom = 1;
      return undefined;
    });
  }

  #zoomBy(direction: 1 | -1): undefined {
    const i = ZOOMS.indexOf(this.#zoom);
    this.#zoom = ZOOMS[Math.min(ZOOMS.length - 1, Math.max(0, (i < 0 ? 3 : i) + direction))] ?? 1;
    return undefined;
  }

  #click(testId: string, run: () => Outcome | Promise<Outcome>): void {
    byTestId(testId).addEventListener('click', () => this.#act(run));
  }

  #ran(events: number, goal: string): string {
    const pending = this.#cluster.operations().filter((op) => op.status === 'pending').length;
    const stopped = pending > 0 ? `, stopped with ${pending} operation(s) pending` : '';
    return `ran ${events} event(s) until ${goal}${stopped}`;
  }

  /** What a hand-driven action said: its first line goes to the log (the explanations panel has the rest). */
  #firstLines(lines: readonly string[]): string[] {
    return lines.map((line) => line.split('\n')[0] as string);
  }

  readonly #messageActions = {
    deliver: (id: number) => this.#act(async () => this.#firstLines(await this.#cluster.deliver(id))),
    drop: (id: number) => this.#act(async () => this.#firstLines(await this.#cluster.drop(id))),
    delay: (id: number) => this.#act(() => this.#firstLines(this.#cluster.delay(id, byTestId<HTMLInputElement>('delay-ms').valueAsNumber))),
  };

  readonly #nodeActions = {
    crash: (node: string) =>
      this.#act(() => {
        this.#cluster.crash(node);
        return `crash ${node}`;
      }),
    restart: (node: string) =>
      this.#act(async () => {
        await this.#cluster.restart(node);
        return `restart ${node}`;
      }),
    isolate: (node: string) =>
      this.#act(() => {
        const others = [...this.#nodeNames().filter((n) => n !== node), 'operator'];
        this.#cluster.partition([node], others);
        this.#isolated.add(node);
        return `partition ${node} from ${others.join(', ')}`;
      }),
  };

  // ---- reading the page ---------------------------------------------------------------------

  #settings(): ClusterSettings {
    const seed = byTestId<HTMLInputElement>('seed').value.trim();
    return {
      acceptors: Number(byTestId<HTMLSelectElement>('acceptor-count').value),
      proposers: Number(byTestId<HTMLSelectElement>('proposer-count').value),
      // An empty field is not seed 0: let createCluster refuse it with its own message.
      seed: seed === '' ? Number.NaN : Number(seed),
      oneRoundTrip: byTestId<HTMLInputElement>('one-round-trip').checked,
    };
  }

  #proposersOf(cluster: TeachingCluster): string[] {
    return cluster.simulation.proposers.map((p) => p.address);
  }

  #nodeNames(): string[] {
    return [...this.#proposersOf(this.#cluster), ...this.#cluster.acceptors().map((a) => a.address)];
  }

  #note(outcome: Outcome): void {
    if (outcome === undefined) return;
    this.#log.push(...(typeof outcome === 'string' ? [outcome] : outcome));
    if (this.#log.length > LOG_LIMIT) this.#log.splice(0, this.#log.length - LOG_LIMIT);
  }

  // ---- the view -----------------------------------------------------------------------------

  #render(failure: unknown): void {
    const cluster = this.#cluster;
    if (this.#isolatedOf !== cluster) {
      this.#isolated.clear();
      this.#isolatedOf = cluster;
    }
    const doc = this.#doc;
    for (const tab of doc.querySelectorAll<HTMLButtonElement>('.modes button')) tab.setAttribute('aria-selected', String(tab.dataset.mode === this.#mode));
    byTestId('guide').hidden = this.#mode === 'free';
    byTestId('lesson-picker').hidden = this.#mode !== 'lessons';
    byTestId('counterexample-picker').hidden = this.#mode !== 'counterexamples';
    byTestId('cluster-section').hidden = this.#mode !== 'free';
    renderTour(this.#mode === 'free' ? undefined : (this.#tour as TourView | undefined), byTestId);

    const proposers = this.#proposersOf(cluster);
    const acceptors = cluster.acceptors();
    const sim = cluster.simulation;
    const upByName = new Map<string, boolean>([...proposers.map((p) => [p, sim.proposer(p).up] as const), ...acceptors.map((a) => [a.address, a.up] as const)]);

    byTestId('error').textContent = failure === undefined ? '' : errorMessage(failure);
    const inFlight = cluster.messages();
    const broken = cluster.breaks.map((b) => b.title).join(', ');
    byTestId('cluster-summary').textContent =
      `seed ${cluster.seed} · ${acceptors.length} acceptors · proposers ${proposers.join(', ')} · ` +
      `virtual time ${ms(cluster.now)} · ${inFlight.length} in flight${broken === '' ? '' : ` · BROKEN: ${broken}`}`;
    const next = cluster.next();
    byTestId('next-event').textContent = next === undefined ? 'Next: nothing left to happen.' : `Next, at ${ms(next.time)}: ${next.text}`;
    byTestId('step').setAttribute('title', next === undefined ? 'Nothing left to happen' : `Runs: ${next.text}`);

    setOptions(byTestId<HTMLSelectElement>('proposer'), proposers);
    setOptions(
      byTestId<HTMLSelectElement>('shrink-target'),
      acceptors.filter((a) => a.membership !== 'not a member').map((a) => a.address),
    );

    const rows: MessageRow[] = inFlight.map((message) => ({
      message,
      blocked: sim.network.isBlocked(message.from, message.to),
      toDownNode: upByName.get(message.to) === false,
    }));
    renderMessages(byTestId<HTMLOListElement>('messages'), rows, this.#messageActions);

    const nodes: NodeView[] = [
      ...proposers.map((name): NodeView => ({ name, role: 'proposer', up: upByName.get(name) === true, isolated: this.#isolated.has(name) })),
      ...acceptors.map((a): NodeView => ({ name: a.address, role: 'acceptor', up: a.up, isolated: this.#isolated.has(a.address), membership: a.membership })),
    ];
    renderNodes(byTestId<HTMLUListElement>('nodes'), nodes, this.#nodeActions);

    const state = cluster.state();
    renderAcceptors(byTestId<HTMLTableElement>('acceptors').tBodies[0] as HTMLTableSectionElement, acceptors, this.#isolated);
    renderValues(byTestId<HTMLUListElement>('values'), state.values);
    renderFences(byTestId<HTMLUListElement>('fences'), acceptors);
    renderOperations(byTestId<HTMLTableElement>('operations').tBodies[0] as HTMLTableSectionElement, cluster.operations());
    renderExplanations(byTestId<HTMLOListElement>('explanations'), cluster.explanations(), this.#latestFrom);

    const diagram = cluster.diagram({ title: 'Deliveries of the playground cluster' });
    renderDiagram(byTestId('diagram'), diagram.length, (minWidth) => diagram.svgWith({ minWidth }), this.#zoom);
    byTestId('diagram-status').textContent = `${diagram.length} rows, ${diagram.model.inFlight.length} in flight · zoom ${Math.round(this.#zoom * 100)} %`;

    const log = byTestId<HTMLOListElement>('log');
    log.replaceChildren(...this.#log.map((line) => h('li', {}, line)));
    log.scrollTop = log.scrollHeight; // the newest line in view, without scrolling the page
    byTestId('state').textContent = state.text;
  }
}
