/**
 * A strict reader of the Prometheus text exposition format (0.0.4), written from the format's
 * description, not from the renderer under test: it throws on anything a scraper would reject or
 * misread (a sample before its TYPE, a family split in two, a bad name, an unknown escape, a
 * histogram whose buckets are not cumulative or whose +Inf bucket differs from its count).
 */

export interface Sample {
  readonly name: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export interface Exposition {
  readonly samples: readonly Sample[];
  readonly types: ReadonlyMap<string, string>;
  readonly help: ReadonlyMap<string, string>;
}

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function unescape(text: string, allowQuote: boolean): string {
  let out = '';
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c !== '\\') {
      out += c;
      continue;
    }
    const next = text[++i];
    if (next === '\\') out += '\\';
    else if (next === 'n') out += '\n';
    else if (next === '"' && allowQuote) out += '"';
    else throw new Error(`unknown escape \\${next ?? ''} in ${JSON.stringify(text)}`);
  }
  return out;
}

function parseValue(text: string): number {
  if (text === '+Inf') return Infinity;
  if (text === '-Inf') return -Infinity;
  if (text === 'NaN') return NaN;
  if (!/^-?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new Error(`bad value ${JSON.stringify(text)}`);
  return Number(text);
}

/** `{a="x",b="y"}` from position `at` of `line`; returns the labels and where they end. */
function parseLabels(line: string, at: number): { labels: Record<string, string>; end: number } {
  const labels: Record<string, string> = {};
  let i = at + 1;
  while (line[i] !== '}') {
    const eq = line.indexOf('=', i);
    if (eq < 0) throw new Error(`bad labels in ${JSON.stringify(line)}`);
    const name = line.slice(i, eq);
    if (!LABEL.test(name)) throw new Error(`bad label name ${JSON.stringify(name)}`);
    if (line[eq + 1] !== '"') throw new Error(`label value not quoted in ${JSON.stringify(line)}`);
    let j = eq + 2;
    let raw = '';
    while (line[j] !== '"') {
      if (j >= line.length) throw new Error(`unterminated label value in ${JSON.stringify(line)}`);
      if (line[j] === '\\') {
        raw += line.slice(j, j + 2);
        j += 2;
      } else raw += line[j++];
    }
    if (name in labels) throw new Error(`label ${name} twice in ${JSON.stringify(line)}`);
    labels[name] = unescape(raw, true);
    i = j + 1;
    if (line[i] === ',') i++;
    else if (line[i] !== '}') throw new Error(`expected , or } in ${JSON.stringify(line)}`);
  }
  return { labels, end: i + 1 };
}

/** The family a sample name belongs to, given the declared types. */
function familyOf(name: string, types: ReadonlyMap<string, string>): string | undefined {
  if (types.has(name)) return name;
  for (const suffix of ['_bucket', '_sum', '_count']) {
    const base = name.endsWith(suffix) ? name.slice(0, -suffix.length) : undefined;
    if (base !== undefined && types.get(base) === 'histogram') return base;
  }
  return undefined;
}

export function parseExposition(text: string): Exposition {
  if (text !== '' && !text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const samples: Sample[] = [];
  const types = new Map<string, string>();
  const help = new Map<string, string>();
  const finished = new Set<string>();
  let current: string | undefined;
  const enter = (family: string): void => {
    if (family === current) return;
    if (current !== undefined) finished.add(current);
    if (finished.has(family)) throw new Error(`family ${family} is split in two`);
    current = family;
  };
  for (const line of text.split('\n').slice(0, -1)) {
    if (line.startsWith('# HELP ')) {
      const [name, ...rest] = line.slice(7).split(' ');
      if (!NAME.test(name as string)) throw new Error(`bad name in ${JSON.stringify(line)}`);
      enter(name as string);
      help.set(name as string, unescape(rest.join(' '), false));
      continue;
    }
    if (line.startsWith('# TYPE ')) {
      const [name, type, extra] = line.slice(7).split(' ');
      if (!NAME.test(name as string) || !['counter', 'gauge', 'histogram', 'summary', 'untyped'].includes(type as string) || extra !== undefined) throw new Error(`bad TYPE line ${JSON.stringify(line)}`);
      if (types.has(name as string)) throw new Error(`TYPE of ${name} twice`);
      enter(name as string);
      types.set(name as string, type as string);
      continue;
    }
    if (line.startsWith('#') || line === '') continue;
    const nameEnd = line.search(/[{ ]/);
    const name = line.slice(0, nameEnd);
    if (!NAME.test(name)) throw new Error(`bad sample name in ${JSON.stringify(line)}`);
    const family = familyOf(name, types);
    if (family === undefined) throw new Error(`sample ${name} before its TYPE line`);
    enter(family);
    let labels: Record<string, string> = {};
    let rest = line.slice(nameEnd);
    if (rest.startsWith('{')) {
      const parsed = parseLabels(line, nameEnd);
      labels = parsed.labels;
      rest = line.slice(parsed.end);
    }
    const parts = rest.trim().split(' ');
    if (!rest.startsWith(' ') || parts.length < 1 || parts.length > 2) throw new Error(`bad sample line ${JSON.stringify(line)}`);
    samples.push({ name, labels, value: parseValue(parts[0] as string) });
  }
  checkHistograms(samples, types);
  return { samples, types, help };
}

function checkHistograms(samples: readonly Sample[], types: ReadonlyMap<string, string>): void {
  for (const [family, type] of types) {
    if (type !== 'histogram') continue;
    const series = new Map<string, Sample[]>();
    for (const s of samples) {
      if (s.name !== `${family}_bucket`) continue;
      const { le, ...rest } = s.labels;
      if (le === undefined) throw new Error(`${family}_bucket without le`);
      const id = JSON.stringify(rest);
      series.set(id, [...(series.get(id) ?? []), s]);
    }
    for (const [id, buckets] of series) {
      const bounds = buckets.map((b) => parseValue(b.labels.le as string));
      for (let i = 1; i < buckets.length; i++) {
        if (!(bounds[i]! > bounds[i - 1]!)) throw new Error(`${family}${id}: buckets out of order`);
        if (buckets[i]!.value < buckets[i - 1]!.value) throw new Error(`${family}${id}: buckets not cumulative`);
      }
      if (bounds[bounds.length - 1] !== Infinity) throw new Error(`${family}${id}: no +Inf bucket`);
      const count = samples.find((s) => s.name === `${family}_count` && JSON.stringify(s.labels) === id);
      if (count === undefined || count.value !== buckets[buckets.length - 1]!.value) throw new Error(`${family}${id}: +Inf bucket differs from _count`);
      if (!samples.some((s) => s.name === `${family}_sum` && JSON.stringify(s.labels) === id)) throw new Error(`${family}${id}: no _sum`);
    }
  }
}

/** The value of the sample `name` whose labels are exactly `labels`, if any. */
export function sample(exposition: Exposition, name: string, labels: Readonly<Record<string, string>> = {}): number | undefined {
  const want = JSON.stringify(Object.entries(labels).sort());
  return exposition.samples.find((s) => s.name === name && JSON.stringify(Object.entries(s.labels).sort()) === want)?.value;
}
