/**
 * A small XML 1.0 well-formedness checker for the SVG renderer's tests (no DOMParser in Node, and
 * no dependency): one root element, tags nested and closed, attributes quoted and unique, every
 * `&` a known entity or a character reference to a legal character, no `<` in text or attribute
 * values, only characters XML allows. Comments and a leading `<?xml ...?>` declaration are allowed;
 * DOCTYPEs, CDATA and processing instructions elsewhere are not (the renderer emits none).
 */
export type XmlCheck = { ok: true } | { ok: false; error: string; offset: number };

const NAME = /[A-Za-z_:][A-Za-z0-9_:.-]*/y;
const SPACE = /[ \t\r\n]*/y;

function legalChar(cp: number): boolean {
  return cp === 0x9 || cp === 0xa || cp === 0xd || (cp >= 0x20 && cp <= 0xd7ff) || (cp >= 0xe000 && cp <= 0xfffd) || (cp >= 0x10000 && cp <= 0x10ffff);
}

export function checkWellFormedXml(xml: string): XmlCheck {
  let i = 0;
  const fail = (error: string, at = i): XmlCheck => ({ ok: false, error, offset: at });
  for (let k = 0; k < xml.length; ) {
    const cp = xml.codePointAt(k) as number;
    // A lone surrogate comes back from codePointAt as itself, in the illegal D800-DFFF range.
    if (!legalChar(cp)) return fail(`illegal character U+${cp.toString(16).toUpperCase().padStart(4, '0')}`, k);
    k += cp > 0xffff ? 2 : 1;
  }
  const skipSpace = (): void => {
    SPACE.lastIndex = i;
    SPACE.exec(xml);
    i = SPACE.lastIndex;
  };
  const name = (): string | undefined => {
    NAME.lastIndex = i;
    const m = NAME.exec(xml);
    if (m === null) return undefined;
    i = NAME.lastIndex;
    return m[0];
  };
  /** Checks the entity or character reference at `i` (which is at `&`) and moves past it. */
  const reference = (): string | undefined => {
    const m = /&(?:(amp|lt|gt|quot|apos)|#([0-9]+)|#x([0-9a-fA-F]+));/y;
    m.lastIndex = i;
    const r = m.exec(xml);
    if (r === null) return 'a bare & (not an entity or character reference)';
    if (r[2] !== undefined || r[3] !== undefined) {
      const cp = r[2] !== undefined ? Number.parseInt(r[2], 10) : Number.parseInt(r[3] as string, 16);
      if (!legalChar(cp)) return `a character reference to an illegal character (${r[0]})`;
    }
    i = m.lastIndex;
    return undefined;
  };
  const comment = (): string | undefined => {
    const end = xml.indexOf('-->', i + 4);
    if (end < 0) return 'an unterminated comment';
    if (xml.slice(i + 4, end).includes('--')) return '-- inside a comment';
    i = end + 3;
    return undefined;
  };

  if (xml.startsWith('<?xml', i)) {
    const end = xml.indexOf('?>', i);
    if (end < 0) return fail('an unterminated XML declaration');
    i = end + 2;
  }
  const stack: string[] = [];
  let roots = 0;
  while (i < xml.length) {
    const c = xml[i];
    if (c === '<') {
      if (xml.startsWith('<!--', i)) {
        const error = comment();
        if (error !== undefined) return fail(error);
        continue;
      }
      if (xml.startsWith('<!', i) || xml.startsWith('<?', i)) return fail('DOCTYPE, CDATA and processing instructions are not expected');
      if (xml[i + 1] === '/') {
        i += 2;
        const closing = name();
        if (closing === undefined) return fail('a closing tag without a name');
        skipSpace();
        if (xml[i] !== '>') return fail(`a malformed closing tag </${closing}`);
        i++;
        const open = stack.pop();
        if (open !== closing) return fail(open === undefined ? `</${closing}> closes nothing` : `</${closing}> closes <${open}>`);
        continue;
      }
      i++;
      const tag = name();
      if (tag === undefined) return fail('a < that starts no tag (write &lt;)');
      if (stack.length === 0) {
        if (++roots > 1) return fail('a second root element');
      }
      const attributes = new Set<string>();
      for (;;) {
        const before = i;
        skipSpace();
        if (xml.startsWith('/>', i)) {
          i += 2;
          break;
        }
        if (xml[i] === '>') {
          i++;
          stack.push(tag);
          break;
        }
        if (i === before) return fail(`attributes of <${tag}> must be separated by spaces`);
        const attribute = name();
        if (attribute === undefined) return fail(`a malformed attribute in <${tag}>`);
        if (attributes.has(attribute)) return fail(`attribute ${attribute} repeated in <${tag}>`);
        attributes.add(attribute);
        skipSpace();
        if (xml[i] !== '=') return fail(`attribute ${attribute} has no value`);
        i++;
        skipSpace();
        const quote = xml[i];
        if (quote !== '"' && quote !== "'") return fail(`attribute ${attribute} is not quoted`);
        i++;
        while (xml[i] !== quote) {
          if (i >= xml.length) return fail(`attribute ${attribute} is not terminated`);
          if (xml[i] === '<') return fail(`a < inside attribute ${attribute}`);
          if (xml[i] === '&') {
            const error = reference();
            if (error !== undefined) return fail(error);
          } else i++;
        }
        i++;
      }
      continue;
    }
    if (stack.length === 0) {
      if (!/[ \t\r\n]/.test(c as string)) return fail('text outside the root element');
      i++;
      continue;
    }
    if (c === '&') {
      const error = reference();
      if (error !== undefined) return fail(error);
      continue;
    }
    if (xml.startsWith(']]>', i)) return fail(']]> in text');
    i++;
  }
  if (stack.length > 0) return fail(`<${stack.at(-1)}> is never closed`);
  if (roots === 0) return fail('no root element');
  return { ok: true };
}
