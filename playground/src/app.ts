/**
 * The playground: one `TeachingCluster` (caspaxos/teach) driven from buttons. Each click becomes an
 * action on a queue, so actions run one at a time and in click order even though delivering a
 * message is asynchronous; after each action the whole view is rebuilt from the cluster, which is
 * the only state that matters (plus the log and which nodes the learner isolated).
 *
 * `<body data-ready>` marks the first render, `data-actions="N"` counts finished actions and
 * `data-busy` says whether one is running: a test clicks, then waits for the count to move.
 */
import { type Change, type TeachingCluster, append, createCluster, increment, read, remove, set } from '../../src/teach/index.js';
import { byTestId, h, setOptions } from './dom.js';
import { type MessageRow, type NodeView, errorMessage, renderAcceptors, renderDiagram, renderFences, renderMessages, renderNodes, renderOperations } from './views.js';

/** What the cluster form asks for. */
export interface ClusterSettings {
  readonly acceptors: number;
  readonly proposers: number;
  readonly seed: number;
  readonly oneRoundTrip: boolean;
}

/** Lines the log keeps; older ones scroll away (the diagram keeps the whole story). */
const LOG_LIMIT = 500;

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
  #cluster: TeachingCluster;
  #proposers: readonly string[] = [];
  readonly #isolated = new Set<string>();
  #log: string[] = [];
  #queue: Promise<void> = Promise.resolve();
  #actions = 0;

  constructor(doc: Document) {
    this.#doc = doc;
    this.#cluster = this.#build(this.#settings());
    this.#bind();
    this.#render(undefined);
    doc.body.dataset.ready = 'true';
  }

  // ---- actions ------------------------------------------------------------------------------

  /** Queues `run`; when it is done (or has failed), logs what it said and rebuilds the view. */
  #act(run: () => Outcome | Promise<Outcome>): void {
    const body = this.#doc.body;
    this.#queue = this.#queue
      .then(async () => {
        body.dataset.busy = 'true';
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
    this.#proposers = Array.from({ length: settings.proposers }, (_, i) => `p${i + 1}`);
    this.#isolated.clear();
    this.#log = [];
    this.#note(
      `new cluster: seed ${settings.seed}, acceptors ${cluster.acceptors().map((a) => a.address).join(', ')}, proposers ${this.#proposers.join(', ')}` +
        (settings.oneRoundTrip ? ', one round trip' : ''),
    );
    return cluster;
  }

  #bind(): void {
    const clusterForm = this.#doc.getElementById('cluster-form') as HTMLFormElement;
    clusterForm.addEventListener('submit', (event) => {
      event.preventDefault();
      this.#act(() => {
        const next = this.#build(this.#settings()); // throws on a bad seed, keeping the old cluster
        this.#cluster.close();
        this.#cluster = next;
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

    this.#click('step', async () => (await this.#cluster.step()) ?? 'nothing left to happen');
    this.#click('run-settled', async () => this.#ran(await this.#cluster.runUntilSettled(), 'every operation settled'));
    this.#click('run-idle', async () => this.#ran(await this.#cluster.runUntilIdle(), 'nothing is in flight'));
    this.#click('heal', () => {
      this.#cluster.heal();
      this.#isolated.clear();
      return 'heal every partition';
    });
  }

  #click(testId: string, run: () => Outcome | Promise<Outcome>): void {
    byTestId(testId).addEventListener('click', () => this.#act(run));
  }

  #ran(events: number, goal: string): string {
    const pending = this.#cluster.operations().filter((op) => op.status === 'pending').length;
    const stopped = pending > 0 ? `, stopped with ${pending} operation(s) pending` : '';
    return `ran ${events} event(s) until ${goal}${stopped}`;
  }

  readonly #messageActions = {
    deliver: (id: number) => this.#act(() => this.#cluster.deliver(id)),
    drop: (id: number) => this.#act(() => this.#cluster.drop(id)),
    delay: (id: number) => this.#act(() => this.#cluster.delay(id, byTestId<HTMLInputElement>('delay-ms').valueAsNumber)),
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

  #nodeNames(): string[] {
    return [...this.#proposers, ...this.#cluster.acceptors().map((a) => a.address)];
  }

  #note(outcome: Outcome): void {
    if (outcome === undefined) return;
    this.#log.push(...(typeof outcome === 'string' ? [outcome] : outcome));
    if (this.#log.length > LOG_LIMIT) this.#log.splice(0, this.#log.length - LOG_LIMIT);
  }

  // ---- the view -----------------------------------------------------------------------------

  #render(failure: unknown): void {
    const cluster = this.#cluster;
    const acceptors = cluster.acceptors();
    const sim = cluster.simulation;
    const upByName = new Map<string, boolean>([...this.#proposers.map((p) => [p, sim.proposer(p).up] as const), ...acceptors.map((a) => [a.address, a.up] as const)]);

    byTestId('error').textContent = failure === undefined ? '' : errorMessage(failure);
    const inFlight = cluster.messages();
    byTestId('cluster-summary').textContent =
      `seed ${cluster.seed} · ${acceptors.length} acceptors · proposers ${this.#proposers.join(', ')} · ` +
      `virtual time ${(cluster.now / 1000).toFixed(3)} ms · ${inFlight.length} in flight`;

    setOptions(byTestId<HTMLSelectElement>('proposer'), this.#proposers);
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
      ...this.#proposers.map((name): NodeView => ({ name, role: 'proposer', up: upByName.get(name) === true, isolated: this.#isolated.has(name) })),
      ...acceptors.map((a): NodeView => ({ name: a.address, role: 'acceptor', up: a.up, isolated: this.#isolated.has(a.address), membership: a.membership })),
    ];
    renderNodes(byTestId<HTMLUListElement>('nodes'), nodes, this.#nodeActions);

    renderAcceptors(byTestId<HTMLTableElement>('acceptors').tBodies[0] as HTMLTableSectionElement, acceptors, this.#isolated);
    renderFences(byTestId<HTMLUListElement>('fences'), acceptors);
    renderOperations(byTestId<HTMLTableElement>('operations').tBodies[0] as HTMLTableSectionElement, cluster.operations());

    const diagram = cluster.diagram({ title: 'Sequence diagram of the playground cluster' });
    renderDiagram(byTestId('diagram'), diagram.length, () => diagram.svg);

    const log = byTestId<HTMLOListElement>('log');
    log.replaceChildren(...this.#log.map((line) => h('li', {}, line)));
    log.scrollTop = log.scrollHeight; // the newest line in view, without scrolling the page
    byTestId('state').textContent = String(cluster.state());
  }
}
