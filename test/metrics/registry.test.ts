/**
 * The hand-written Prometheus text format: what a scraper reads back is what was recorded, for any
 * label value (escaping) and any observations (cumulative buckets, +Inf equal to the count, sum);
 * and the registry refuses names and labels a scraper would reject.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { MetricsRegistry, escapeLabelValue } from '../../src/metrics/registry.js';
import { parseExposition, sample } from '../support/exposition.js';

describe('MetricsRegistry', () => {
  it('renders HELP and TYPE before each family, counters, gauges and histograms', () => {
    const metrics = new MetricsRegistry();
    metrics.counter('jobs_total', 'Jobs.\nSecond line with \\ backslash.', ['outcome']).inc({ outcome: 'ok' }, 2);
    metrics.gauge('queue_depth', 'Depth.').set(5);
    const h = metrics.histogram('latency_seconds', 'Latency.', ['route'], [0.1, 1]);
    h.observe(0.05, { route: 'a' });
    h.observe(0.1, { route: 'a' }); // on a bound: counted in that bucket (upper bounds are inclusive)
    h.observe(3, { route: 'a' });
    expect(metrics.render()).toBe(
      [
        '# HELP jobs_total Jobs.\\nSecond line with \\\\ backslash.',
        '# TYPE jobs_total counter',
        'jobs_total{outcome="ok"} 2',
        '# HELP queue_depth Depth.',
        '# TYPE queue_depth gauge',
        'queue_depth 5',
        '# HELP latency_seconds Latency.',
        '# TYPE latency_seconds histogram',
        'latency_seconds_bucket{route="a",le="0.1"} 2',
        'latency_seconds_bucket{route="a",le="1"} 2',
        'latency_seconds_bucket{route="a",le="+Inf"} 3',
        'latency_seconds_sum{route="a"} 3.15',
        'latency_seconds_count{route="a"} 3',
        '',
      ].join('\n'),
    );
  });

  test.prop([fc.array(fc.string({ unit: 'binary' }), { minLength: 1, maxLength: 8 })], { seed: 1307, numRuns: 200 })('label values of any text read back unchanged (seed 1307)', (values) => {
    const metrics = new MetricsRegistry();
    const c = metrics.counter('things_total', 'Things.', ['name']);
    values.forEach((name, i) => c.inc({ name }, i + 1));
    const parsed = parseExposition(metrics.render());
    for (const name of new Set(values)) expect(sample(parsed, 'things_total', { name })).toBe(c.get({ name }));
  });

  test.prop([fc.array(fc.double({ min: 0, max: 20, noNaN: true }), { minLength: 1, maxLength: 200 })], { seed: 2048, numRuns: 200 })('histograms: cumulative buckets, +Inf equals the count, the sum adds up (seed 2048)', (observations) => {
    const metrics = new MetricsRegistry();
    const h = metrics.histogram('h_seconds', 'H.', [], [0.001, 0.5, 1, 10]);
    for (const v of observations) h.observe(v);
    const parsed = parseExposition(metrics.render()); // throws on non-cumulative buckets or +Inf != count
    for (const bound of ['0.001', '0.5', '1', '10']) {
      expect(sample(parsed, 'h_seconds_bucket', { le: bound })).toBe(observations.filter((v) => v <= Number(bound)).length);
    }
    expect(sample(parsed, 'h_seconds_count')).toBe(observations.length);
    expect(sample(parsed, 'h_seconds_sum')).toBeCloseTo(observations.reduce((a, b) => a + b, 0), 6);
  });

  it('a metric never updated renders its HELP and TYPE only (a valid, empty family)', () => {
    const metrics = new MetricsRegistry();
    metrics.histogram('idle_seconds', 'Idle.');
    expect(metrics.render()).toBe('# HELP idle_seconds Idle.\n# TYPE idle_seconds histogram\n');
    expect(parseExposition(metrics.render()).samples).toEqual([]);
  });

  it('negative control: the reader rejects what a scraper would (unescaped quote, split family, non-cumulative buckets)', () => {
    expect(() => parseExposition('# TYPE a_total counter\na_total{n="x"y"} 1\n')).toThrow();
    expect(() => parseExposition('# TYPE a gauge\na 1\n# TYPE b gauge\nb 1\na 2\n')).toThrow(/split/);
    expect(() => parseExposition('# TYPE h histogram\nh_bucket{le="1"} 3\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 2\n')).toThrow(/cumulative/);
    expect(() => parseExposition('a 1\n')).toThrow(/before its TYPE/);
    // And the escaping under test is what makes a quote safe.
    expect(escapeLabelValue('x"y\\z\n')).toBe('x\\"y\\\\z\\n');
  });

  it('refuses names and labels a scraper would reject, and mismatched re-registration', () => {
    const metrics = new MetricsRegistry();
    expect(() => metrics.counter('jobs', 'No _total.')).toThrow(/_total/);
    expect(() => metrics.gauge('2bad', 'Starts with a digit.')).toThrow(/metric name/);
    expect(() => metrics.gauge('ok', 'Reserved label.', ['__name'])).toThrow(/label name/);
    expect(() => metrics.histogram('h', 'le is reserved.', ['le'])).toThrow(/reserved/);
    expect(() => metrics.histogram('h2', 'Unsorted buckets.', [], [1, 0.5])).toThrow(/increasing/);
    const c = metrics.counter('c_total', 'C.', ['a']);
    expect(metrics.counter('c_total', 'C.', ['a'])).toBe(c);
    expect(() => metrics.gauge('c_total', 'Other type.', ['a'])).toThrow(/already registered/);
    expect(() => c.inc({ b: 'x' } as never)).toThrow(/needs the label "a"/);
    expect(() => c.inc({ a: 'x', b: 'y' })).toThrow(/takes the labels/);
    expect(() => c.inc({ a: 'x' }, -1)).toThrow(/only goes up/);
    metrics.histogram('lat', 'L.');
    expect(() => metrics.gauge('lat_count', 'Collides.')).toThrow(/collides/);
  });

  it('reads collected values at each scrape, and a collector that throws leaves the rest of the page intact', () => {
    const metrics = new MetricsRegistry();
    let depth = 1;
    metrics.gauge('depth', 'D.', [], (set) => set(depth));
    metrics.gauge('broken', 'B.', [], () => {
      throw new Error('boom');
    });
    let cpu = 1.5;
    metrics.counter('cpu_seconds_total', 'CPU.', [], (set) => set(cpu));
    expect(sample(parseExposition(metrics.render()), 'depth')).toBe(1);
    depth = 7;
    cpu = 1; // a counter read from elsewhere never goes back
    const parsed = parseExposition(metrics.render());
    expect(sample(parsed, 'depth')).toBe(7);
    expect(sample(parsed, 'cpu_seconds_total')).toBe(1.5);
  });
});
