/**
 * Metrics in the Prometheus text exposition format, version 0.0.4 (the format every Prometheus
 * server, Grafana Agent, OpenTelemetry collector and VictoriaMetrics scrapes): counters, gauges and
 * histograms with fixed buckets, rendered by hand.
 *
 * Why not prom-client: the package has no runtime dependency and stays that way (the library core
 * runs in browsers; the servers are embeddable in someone else's process, which may carry its own
 * prom-client, and two copies would fight over a global default registry). The exposition format is
 * small and stable, and a registry is a few dozen lines; this one is per server (no global state),
 * so an application can render it next to its own metrics.
 *
 * The format's rules this module keeps (https://prometheus.io/docs/instrumenting/exposition_formats/):
 *  - metric names match `[a-zA-Z_:][a-zA-Z0-9_:]*`, label names `[a-zA-Z_][a-zA-Z0-9_]*` and do
 *    not start with `__` (reserved); counters end in `_total`;
 *  - `# HELP` text escapes `\` and newline; label values escape `\`, `"` and newline;
 *  - a histogram is `_bucket{le="..."}` lines, cumulative, ending with `le="+Inf"` (equal to
 *    `_count`), then `_sum` and `_count`;
 *  - every series of one metric is written together, after its `# HELP` and `# TYPE` lines.
 *
 * Label values must come from a small fixed set (routes, outcomes, phases): never keys, values or
 * client input, which would let clients grow the server's memory and every scrape without bound.
 *
 * No I/O and no Node built-ins: the page is a string the server sends.
 */
import { InvalidArgumentError } from '../errors.js';

/** Labels of one series: label name to value. */
export type Labels = Readonly<Record<string, string>>;

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Latency buckets in seconds: 100 µs (a memory acceptor on loopback) to 10 s (a stuck disk). */
export const LATENCY_BUCKETS: readonly number[] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Size buckets (items of a batch, records of a commit): powers of two up to the largest group. */
export const SIZE_BUCKETS: readonly number[] = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** `# HELP` text: backslash and newline escaped. */
export function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

/** A label value: backslash, double quote and newline escaped. */
export function escapeLabelValue(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** A sample value as the format writes it (`+Inf`, `-Inf`, `NaN`, else the shortest decimal). */
export function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

/** `{a="1",b="2"}` for `names` in order, or the empty string without labels. */
function labelText(names: readonly string[], values: readonly string[], extra?: string): string {
  const parts = names.map((name, i) => `${name}="${escapeLabelValue(values[i] as string)}"`);
  if (extra !== undefined) parts.push(extra);
  return parts.length === 0 ? '' : `{${parts.join(',')}}`;
}

/** How many own enumerable properties `labels` has (`Object.keys(labels).length`, without the array). */
function countKeys(labels: Labels): number {
  let count = 0;
  for (const name in labels) if (Object.hasOwn(labels, name)) count++;
  return count;
}

/** What every metric shows of itself. */
export interface MetricInfo {
  /** The metric's name, e.g. `caspaxos_proposer_rounds_total`. */
  readonly name: string;
  /** Its `# HELP` text. */
  readonly help: string;
  /** The names of its labels, in order; every update names exactly these. */
  readonly labelNames: readonly string[];
  /** Its `# TYPE`. */
  readonly type: 'counter' | 'gauge' | 'histogram';
}

/** A count that only goes up (from 0 when the process starts), made by `MetricsRegistry.counter`. */
export interface Counter extends MetricInfo {
  /** Adds `by` (default 1, never negative) to the series of `labels`. */
  inc(labels?: Labels, by?: number): void;
  /** The current value of the series of `labels` (0 when never incremented). */
  get(labels?: Labels): number;
}

/** A value that goes up and down, made by `MetricsRegistry.gauge`. */
export interface Gauge extends MetricInfo {
  /** Sets the series of `labels` to `value`. */
  set(value: number, labels?: Labels): void;
  /** The current value of the series of `labels` (0 when never set). */
  get(labels?: Labels): number;
}

/** Observations counted into fixed buckets, made by `MetricsRegistry.histogram`. */
export interface Histogram extends MetricInfo {
  /** The buckets' upper bounds (inclusive), without `+Inf`. */
  readonly buckets: readonly number[];
  /** Counts `value` into the series of `labels`. */
  observe(value: number, labels?: Labels): void;
  /** How many observations the series of `labels` holds. */
  count(labels?: Labels): number;
}

/** What every metric shares: its name, help, label names, and its series by label values. */
abstract class Metric<S> {
  abstract readonly type: 'counter' | 'gauge' | 'histogram';
  readonly #series = new Map<string, { readonly values: readonly string[]; readonly state: S }>();

  constructor(
    readonly name: string,
    readonly help: string,
    readonly labelNames: readonly string[],
  ) {
    if (!METRIC_NAME.test(name)) throw new InvalidArgumentError(`metric name ${JSON.stringify(name)} does not match [a-zA-Z_:][a-zA-Z0-9_:]*`);
    for (const label of labelNames) {
      if (!LABEL_NAME.test(label) || label.startsWith('__')) throw new InvalidArgumentError(`label name ${JSON.stringify(label)} of ${name} must match [a-zA-Z_][a-zA-Z0-9_]* and not start with __`);
      if (label === 'le') throw new InvalidArgumentError(`label name "le" of ${name} is reserved for histogram buckets`);
    }
    if (new Set(labelNames).size !== labelNames.length) throw new InvalidArgumentError(`${name} names a label twice`);
  }

  protected abstract fresh(): S;

  /** The series for `labels` (made on first use): exactly the metric's label names, no other. */
  protected series(labels: Labels | undefined): S {
    // Runs on every update (a proposer updates several per acceptor message): the series' id is
    // built without arrays, and the label values are copied only for a new series.
    const names = this.labelNames;
    let id = '';
    for (let i = 0; i < names.length; i++) {
      const name = names[i] as string;
      const value = labels?.[name];
      if (typeof value !== 'string') throw new InvalidArgumentError(`${this.name} needs the label ${JSON.stringify(name)}`);
      id = i === 0 ? value : `${id}\u0000${value}`;
    }
    if (labels !== undefined && countKeys(labels) !== names.length) {
      throw new InvalidArgumentError(`${this.name} takes the labels ${JSON.stringify(names)}, got ${JSON.stringify(Object.keys(labels))}`);
    }
    let found = this.#series.get(id);
    if (found === undefined) {
      found = { values: names.map((name) => (labels as Labels)[name] as string), state: this.fresh() };
      this.#series.set(id, found);
    }
    return found.state;
  }

  /** Every series so far, in the order first seen. */
  protected all(): Iterable<{ readonly values: readonly string[]; readonly state: S }> {
    return this.#series.values();
  }

  /** The metric's lines, `# HELP` and `# TYPE` first. */
  render(): string[] {
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`, ...this.samples()];
  }

  protected abstract samples(): string[];

  protected label(values: readonly string[], extra?: string): string {
    return labelText(this.labelNames, values, extra);
  }
}

/** Reads a metric's current values at each scrape: calls `set` once per series. */
export type Collect = (set: (value: number, labels?: Labels) => void) => void;

/**
 * A metric of one number per series (a counter or a gauge), optionally read at each scrape from
 * `collect`; `absorb` says how a collected value lands in its series.
 */
abstract class ValueMetric extends Metric<{ value: number }> {
  readonly #collect: Collect | undefined;

  constructor(name: string, help: string, labelNames: readonly string[], collect?: Collect) {
    super(name, help, labelNames);
    this.#collect = collect;
  }

  /** @internal */
  protected abstract absorb(series: { value: number }, value: number): void;

  override render(): string[] {
    collectInto(this.#collect, (value, labels) => this.absorb(this.series(labels), value));
    return super.render();
  }

  /** @internal */
  protected fresh(): { value: number } {
    return { value: 0 };
  }

  /** The current value of the series of `labels` (0 when never updated). */
  get(labels?: Labels): number {
    return this.series(labels).value;
  }

  /** @internal */
  protected samples(): string[] {
    return Array.from(this.all(), ({ values, state }) => `${this.name}${this.label(values)} ${formatValue(state.value)}`);
  }
}

/** A count that only goes up (restarts at 0 with the process). */
class CounterMetric extends ValueMetric implements Counter {
  readonly type = 'counter';

  /** @internal */
  protected absorb(series: { value: number }, value: number): void {
    // A count read from elsewhere (the process's CPU time) never goes back.
    series.value = Math.max(series.value, value);
  }

  /** Adds `by` (default 1, never negative) to the series of `labels`. */
  inc(labels?: Labels, by = 1): void {
    if (!(by >= 0)) throw new InvalidArgumentError(`${this.name}: a counter only goes up (got ${by})`);
    this.series(labels).value += by;
  }
}

/** A value that goes up and down. */
class GaugeMetric extends ValueMetric implements Gauge {
  readonly type = 'gauge';

  /** @internal */
  protected absorb(series: { value: number }, value: number): void {
    series.value = value;
  }

  /** Sets the series of `labels` to `value`. */
  set(value: number, labels?: Labels): void {
    this.series(labels).value = value;
  }
}

/** Runs `collect`; one that throws must not break the scrape of every other metric: the last values stand. */
function collectInto(collect: Collect | undefined, set: (value: number, labels?: Labels) => void): void {
  try {
    collect?.(set);
  } catch {
    /* the previous values stand */
  }
}

/** Observations counted into fixed buckets (upper bounds, inclusive), with their sum and count. */
class HistogramMetric extends Metric<{ counts: number[]; sum: number; count: number }> implements Histogram {
  readonly type = 'histogram';
  readonly buckets: readonly number[];

  constructor(name: string, help: string, labelNames: readonly string[], buckets: readonly number[]) {
    super(name, help, labelNames);
    if (buckets.length === 0 || buckets.some((b, i) => !Number.isFinite(b) || (i > 0 && b <= (buckets[i - 1] as number)))) {
      throw new InvalidArgumentError(`${name}: buckets must be finite and strictly increasing`);
    }
    this.buckets = [...buckets];
  }

  protected fresh(): { counts: number[]; sum: number; count: number } {
    return { counts: new Array<number>(this.buckets.length).fill(0), sum: 0, count: 0 };
  }

  /** Counts `value` into the series of `labels`. */
  observe(value: number, labels?: Labels): void {
    const s = this.series(labels);
    const i = this.buckets.findIndex((bound) => value <= bound);
    if (i >= 0) s.counts[i] = (s.counts[i] as number) + 1;
    s.sum += value;
    s.count++;
  }

  /** How many observations the series of `labels` holds. */
  count(labels?: Labels): number {
    return this.series(labels).count;
  }

  protected samples(): string[] {
    const lines: string[] = [];
    for (const { values, state } of this.all()) {
      let cumulative = 0;
      this.buckets.forEach((bound, i) => {
        cumulative += state.counts[i] as number;
        lines.push(`${this.name}_bucket${this.label(values, `le="${formatValue(bound)}"`)} ${cumulative}`);
      });
      lines.push(`${this.name}_bucket${this.label(values, 'le="+Inf"')} ${state.count}`);
      lines.push(`${this.name}_sum${this.label(values)} ${formatValue(state.sum)}`);
      lines.push(`${this.name}_count${this.label(values)} ${state.count}`);
    }
    return lines;
  }
}

/** The content type of the text format, for the `/metrics` reply. */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/**
 * The metrics of one server (or one process): register them once, update them as things happen,
 * `render()` at each scrape. Registering a name twice returns the metric already registered when
 * its type and labels agree (so two components can share one), and throws otherwise.
 * @example
 * ```ts
 * import { MetricsRegistry } from 'caspaxos/http';
 *
 * const metrics = new MetricsRegistry();
 * const jobs = metrics.counter('myapp_jobs_total', 'Jobs run, by outcome.', ['outcome']);
 * jobs.inc({ outcome: 'ok' });
 * console.log(metrics.render());
 * ```
 */
export class MetricsRegistry {
  readonly #metrics = new Map<string, CounterMetric | GaugeMetric | HistogramMetric>();

  /** A counter (its name ends in `_total`); with `collect`, its values are read at each scrape. */
  counter(name: string, help: string, labelNames: readonly string[] = [], collect?: Collect): Counter {
    if (!name.endsWith('_total')) throw new InvalidArgumentError(`counter ${JSON.stringify(name)} must end in _total`);
    return this.#register(name, labelNames, CounterMetric, () => new CounterMetric(name, help, labelNames, collect));
  }

  /** A gauge; with `collect`, its values are read at each scrape. */
  gauge(name: string, help: string, labelNames: readonly string[] = [], collect?: Collect): Gauge {
    return this.#register(name, labelNames, GaugeMetric, () => new GaugeMetric(name, help, labelNames, collect));
  }

  /** A histogram with fixed `buckets` (upper bounds; `+Inf` is added). */
  histogram(name: string, help: string, labelNames: readonly string[] = [], buckets: readonly number[] = LATENCY_BUCKETS): Histogram {
    return this.#register(name, labelNames, HistogramMetric, () => new HistogramMetric(name, help, labelNames, buckets));
  }

  /** The metric registered under `name`, if any. */
  get(name: string): Counter | Gauge | Histogram | undefined {
    return this.#metrics.get(name);
  }

  /** Every metric in the text format, in the order registered, ending with a newline. */
  render(): string {
    const lines: string[] = [];
    for (const metric of this.#metrics.values()) lines.push(...metric.render());
    return lines.length === 0 ? '' : `${lines.join('\n')}\n`;
  }

  #register<M extends CounterMetric | GaugeMetric | HistogramMetric>(name: string, labelNames: readonly string[], kind: abstract new (...args: never[]) => M, make: () => M): M {
    const existing = this.#metrics.get(name);
    if (existing !== undefined) {
      if (!(existing instanceof kind) || existing.labelNames.join(',') !== labelNames.join(',')) {
        throw new InvalidArgumentError(`metric ${name} is already registered as a ${existing.type} with labels ${JSON.stringify(existing.labelNames)}`);
      }
      return existing;
    }
    // A histogram's series are `name_bucket`, `name_sum` and `name_count`: no other metric may take those names.
    for (const other of this.#metrics.values()) {
      if (other instanceof HistogramMetric && [`${other.name}_bucket`, `${other.name}_sum`, `${other.name}_count`].includes(name)) {
        throw new InvalidArgumentError(`metric name ${name} collides with histogram ${other.name}`);
      }
    }
    const metric = make();
    this.#metrics.set(name, metric);
    return metric;
  }
}
