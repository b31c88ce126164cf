/**
 * The few DOM helpers the playground needs. Text always goes in through `textContent` or
 * `setAttribute`, never through `innerHTML`, so keys and values a learner types cannot inject
 * markup. The one piece of foreign markup, the sequence diagram, is parsed as XML (not HTML) from
 * our own renderer, which escapes every text it draws.
 */

export type Child = Node | string | null | undefined | false;
export type Attributes = Record<string, string | number | boolean | undefined>;

/** An element with attributes (`true` sets an empty attribute; `false`/`undefined` leave it out) and children (strings become text nodes). */
export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attributes: Attributes = {}, ...children: Child[]): HTMLElementTagNameMap[K] {
  const element = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (value === undefined || value === false) continue;
    element.setAttribute(name, value === true ? '' : String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    element.append(typeof child === 'string' ? document.createTextNode(child) : child);
  }
  return element;
}

/** A button that runs `onClick`. */
export function button(label: string, testId: string, onClick: () => void, attributes: Attributes = {}): HTMLButtonElement {
  const element = h('button', { type: 'button', 'data-testid': testId, ...attributes }, label);
  element.addEventListener('click', onClick);
  return element;
}

/** The element with `data-testid="<testId>"`; throws if the page lacks it (a broken page should fail loudly). */
export function byTestId<T extends Element = HTMLElement>(testId: string, root: ParentNode = document): T {
  const element = root.querySelector<T & Element>(`[data-testid="${testId}"]`);
  if (element === null) throw new Error(`the page has no element with data-testid="${testId}"`);
  return element;
}

/** Replaces the options of `select`, keeping its selection when that value is still offered. */
export function setOptions(select: HTMLSelectElement, values: readonly string[]): void {
  const previous = select.value;
  select.replaceChildren(...values.map((value) => h('option', { value }, value)));
  if (values.includes(previous)) select.value = previous;
}

/**
 * An SVG document (from `TeachingCluster.svg()`) as an element of this page. Parsed with the XML
 * parser, which builds inert nodes: nothing in it runs, and text stays text.
 */
export function svgElement(svg: string): Element {
  const parsed = new DOMParser().parseFromString(svg, 'image/svg+xml');
  const root = parsed.documentElement;
  if (root.nodeName !== 'svg' || parsed.getElementsByTagName('parsererror').length > 0) {
    throw new Error('the sequence diagram is not well-formed SVG');
  }
  return document.importNode(root, true);
}
