/** The checker the SVG tests rely on: it accepts well-formed XML and rejects each kind of mistake. */
import { describe, expect, test } from 'vitest';
import { checkWellFormedXml } from './xml-check.js';

describe('checkWellFormedXml', () => {
  test.each([
    ['a single element', '<svg/>'],
    ['nesting, attributes and entities', `<svg a="1" b='2'><g><text x="0">a &amp; b &lt; c &#233; &#x1F600;</text></g></svg>\n`],
    ['a declaration and a comment', '<?xml version="1.0"?>\n<!-- hi --><a>t</a>'],
    ['astral characters', '<a>😀 ø ∅ 键</a>'],
  ])('accepts %s', (_, xml) => {
    expect(checkWellFormedXml(xml)).toEqual({ ok: true });
  });

  test.each([
    ['an unclosed element', '<svg><g></svg>'],
    ['a mismatched closing tag', '<a><b></a></b>'],
    ['an element never closed', '<a>'],
    ['a raw & in text', '<a>x & y</a>'],
    ['an unknown entity', '<a>&nbsp;</a>'],
    ['a raw < in text', '<a>1 < 2</a>'],
    ['a raw < in an attribute', '<a t="<"/>'],
    ['an unquoted attribute', '<a t=1/>'],
    ['a repeated attribute', '<a t="1" t="2"/>'],
    ['attributes run together', '<a t="1"u="2"/>'],
    ['two root elements', '<a/><b/>'],
    ['text outside the root', 'x<a/>'],
    ['no root', '   '],
    ['a control character', '<a>\u0001</a>'],
    ['a lone surrogate', '<a>\ud800</a>'],
    ['a reference to an illegal character', '<a>&#1;</a>'],
    ['-- in a comment', '<a><!-- a -- b --></a>'],
    ['a DOCTYPE', '<!DOCTYPE a><a/>'],
  ])('rejects %s', (_, xml) => {
    expect(checkWellFormedXml(xml).ok).toBe(false);
  });
});
