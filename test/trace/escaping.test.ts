/**
 * Hostile keys, ids and states: every renderer keeps one row per line, escapes what its format
 * needs, and never lets a key turn into markup or syntax.
 */
import { describe, expect, test } from 'vitest';
import { MemoryAcceptor, MemoryProposer } from '../../src/index.js';
import {
  type RecordedEvent,
  TraceRecorder,
  displayName,
  escapeMermaid,
  escapeXml,
  previewState,
  renderAscii,
  renderMermaid,
  renderNdjson,
  renderSvg,
  toDiagram,
} from '../../src/trace/index.js';
import { noSleep } from '../support/cluster.js';
import { enc } from '../support/text.js';
import { checkWellFormedXml } from './xml-check.js';

const HOSTILE_KEYS = ['<script>alert(1)</script>', 'a & b', `"quoted" 'single'`, 'line\nbreak\r\ttab', 'ключ 键 😀', '#59; %% ; end', 'rtl\u202eevil', 'lone\ud800half', ''];

/** A real run over hostile keys and acceptor addresses, each key written with a hostile state. */
async function hostileRun(): Promise<RecordedEvent[]> {
  const recorder = new TraceRecorder();
  const acceptors = ['a<1>', 'a&2', 'a"3'].map((a) => new MemoryAcceptor(a));
  const p = new MemoryProposer('p:1;#', acceptors, { tracer: recorder.tracer, sleep: noSleep, oneRoundTrip: false });
  for (const key of HOSTILE_KEYS.filter((k) => k !== '')) await p.propose(key, () => enc(`<b>${key}</b>&;#`));
  await p.propose('bin', () => Uint8Array.of(0, 1, 2, 0xff));
  return recorder.events;
}

/** Mermaid's entity codes (`#lt;`, `#59;`, `#9829;`) decoded, as Mermaid does before drawing. */
function decodeMermaid(text: string): string {
  const named: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"' };
  return text.replace(/#(\w+);/g, (_, code: string) => (/^\d+$/.test(code) ? String.fromCodePoint(Number(code)) : (named[code] ?? `#${code};`)));
}

describe('displayName', () => {
  test('plain names stay bare; anything else is a JSON string with unsafe characters escaped', () => {
    expect(displayName('k')).toBe('k');
    expect(displayName('user:42/profile')).toBe('user:42/profile');
    expect(displayName('ключ')).toBe('ключ');
    expect(displayName('a b')).toBe('"a b"');
    expect(displayName('')).toBe('""');
    expect(displayName('x"y')).toBe('"x\\"y"');
    expect(displayName('line\nbreak')).toBe('"line\\nbreak"');
    expect(displayName('rtl\u202eevil')).toBe('"rtl\\u202eevil"');
    expect(displayName('lone\ud800')).toBe('"lone\\ud800"');
    expect(displayName('<a&b>')).toBe('"<a&b>"');
  });
});

describe('previewState', () => {
  test.each([
    [null, '∅'],
    [new Uint8Array(0), '""'],
    [enc('hello'), '"hello"'],
    [enc('ключ 键 😀'), '"ключ 键 😀"'],
    [enc('say "hi"'), '"say \\"hi\\""'],
    [enc('0123456789abcdefXYZ'), '"0123456789abcdef"…'],
    [Uint8Array.of(0, 1, 0xff), '0x0001ff'],
    [enc('tab\there'), '0x7461620968657265'],
    [Uint8Array.of(0xc0, 0x80), '0xc080'], // overlong NUL
    [Uint8Array.of(0xed, 0xa0, 0x80), '0xeda080'], // an encoded surrogate
    [Uint8Array.of(0xe2, 0x80, 0xae), '0xe280ae'], // U+202E, a bidi override
    [Uint8Array.of(0x61, 0xe2, 0x82), '0x61e282'], // cut in the middle of a character
    [new Uint8Array(20), '0x0000000000000000…(20 bytes)'],
  ])('%o previews as %s', (state, expected) => {
    expect(previewState(state)).toBe(expected);
  });

  test('the length is configurable', () => {
    expect(previewState(enc('abcdef'), 4)).toBe('"abcd"…');
  });
});

describe('renderers over hostile keys, ids and states', () => {
  test('ASCII: one line per row, no control or bidi characters, keys quoted', async () => {
    const events = await hostileRun();
    const ascii = renderAscii(events);
    const lines = ascii.trimEnd().split('\n');
    expect(lines).toHaveLength(toDiagram(events).rows.length + 1);
    expect(ascii).not.toMatch(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
    expect(ascii).toContain('"line\\nbreak\\r\\ttab"');
    expect(ascii).toContain('"rtl\\u202eevil"');
    expect(ascii).toContain('"lone\\ud800half"');
    expect(ascii).toContain('0x000102ff');
  });

  test('Mermaid: only known statements, no raw # ; < > & in text, and the text decodes back', async () => {
    const events = await hostileRun();
    const mermaid = renderMermaid(events);
    const lines = mermaid.trimEnd().split('\n');
    expect(lines[0]).toBe('sequenceDiagram');
    const ids = new Set<string>();
    const rows = toDiagram(events).rows;
    let row = 0;
    for (const line of lines.slice(1)) {
      const participant = /^ {4}participant ([A-Z]+\d+) as (.+)$/.exec(line);
      const arrow = /^ {4}([A-Z]+\d+)(->>|-->>|--x)([A-Z]+\d+): (.*)$/.exec(line);
      const note = /^ {4}Note over ([A-Z]+\d+)(?:,([A-Z]+\d+))?: (.*)$/.exec(line);
      const text = participant?.[2] ?? arrow?.[4] ?? note?.[3];
      expect(text, `not a statement we emit: ${line}`).toBeDefined();
      // After Mermaid's own entity pre-pass, what is left must hold no statement or comment breaker.
      expect((text as string).replace(/#\w+;/g, '')).not.toMatch(/[#;<>&\n\r]/);
      if (participant) ids.add(participant[1] as string);
      if (arrow) {
        expect(ids.has(arrow[1] as string) && ids.has(arrow[3] as string)).toBe(true);
        expect(decodeMermaid(arrow[4] as string)).toBe((rows[row++] as { label: string }).label);
      }
      if (note) {
        expect(ids.has(note[1] as string)).toBe(true);
        expect(decodeMermaid(note[3] as string)).toBe((rows[row++] as { text: string }).text);
      }
    }
    expect(row).toBe(rows.length);
    expect(mermaid).toContain('participant P1 as "p#58;1#59;#35;"');
    expect(mermaid).toContain('#lt;script#gt;');
  });

  test('escapeMermaid: the characters Mermaid reads as syntax', () => {
    expect(escapeMermaid('a#b;c<d>e&f%g\\h:i"j')).toBe('a#35;b#59;c#lt;d#gt;e#amp;f#37;g#92;h:i"j');
    expect(escapeMermaid('wrap:x', true)).toBe('wrap#58;x');
  });

  test('SVG: well-formed XML, no raw markup from keys, standalone', async () => {
    const svg = renderSvg(await hostileRun(), { title: 'a <title> & "quotes" \u0001' });
    expect(checkWellFormedXml(svg)).toEqual({ ok: true });
    expect(svg).not.toContain('<script');
    expect(svg).toContain('&lt;script&gt;');
    expect(svg).toContain('<title>a &lt;title&gt; &amp; &quot;quotes&quot; \ufffd</title>');
    // Self-contained: no scripts, no external references, no web fonts.
    expect(svg).not.toMatch(/<script|href=|@import|url\(|@font-face/);
  });

  test('escapeXml replaces what XML cannot carry', () => {
    expect(escapeXml(`<&>"'`)).toBe('&lt;&amp;&gt;&quot;&apos;');
    expect(escapeXml('a\u0000b\ud800c\uffff😀')).toBe('a\ufffdb\ufffdc\ufffd😀');
    expect(checkWellFormedXml(`<a>${escapeXml('\u0001\u0008\ud800<&')}</a>`)).toEqual({ ok: true });
  });

  test('NDJSON: every line parses and keeps the key exactly', async () => {
    const events = await hostileRun();
    const lines = renderNdjson(events).trimEnd().split('\n');
    expect(lines).toHaveLength(events.length);
    const keys = new Set(lines.map((line) => (JSON.parse(line) as { key: string }).key));
    for (const key of HOSTILE_KEYS.filter((k) => k !== '' && !k.includes('\ud800'))) expect(keys.has(key)).toBe(true);
    // A lone surrogate is written as a \u escape (well-formed JSON.stringify), and reads back as itself.
    expect(lines.some((line) => line.includes('lone\\ud800half'))).toBe(true);
    expect(keys.has('lone\ud800half')).toBe(true);
  });

  test('participants: requested lifelines come first, in the order given', async () => {
    const events = await hostileRun();
    const order = toDiagram(events, { participants: ['a"3', 'p:1;#'] }).participants.map((p) => p.name);
    expect(order).toEqual(['a"3', 'p:1;#', 'a<1>', 'a&2']);
  });
});
