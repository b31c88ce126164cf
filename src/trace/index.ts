/**
 * `caspaxos/trace`: record the typed trace events of proposers, garbage collection and membership
 * changes, filter them, and render them as an ASCII or Mermaid sequence diagram, a standalone SVG
 * or NDJSON. Pure: no `node:` imports, no Buffer, no DOM; runs in browsers and notebooks.
 *
 * @example
 * const recorder = new TraceRecorder();
 * const p1 = new MemoryProposer('p1', acceptors, { tracer: recorder.tracer });
 * await p1.propose('k', () => new TextEncoder().encode('v'));
 * console.log(renderAscii(recorder.events, { filter: byKey('k') }));
 *
 * @module caspaxos/trace
 */
export { TraceRecorder, teeTracers, type RecordedEvent, type TraceRecorderOptions } from './recorder.js';
export {
  type TracePredicate,
  type TimeWindow,
  allOf,
  anyOf,
  byAcceptor,
  byKey,
  byProposer,
  byType,
  filterTrace,
  inWindow,
  not,
} from './filter.js';
export {
  type ArrowStyle,
  type Diagram,
  type DiagramArrow,
  type DiagramNote,
  type DiagramOptions,
  type DiagramRow,
  type NoteTone,
  type Participant,
  type ParticipantKind,
  toDiagram,
} from './diagram.js';
export { type AsciiOptions, asciiFromDiagram, renderAscii } from './ascii.js';
export { type MermaidOptions, escapeMermaid, mermaidFromDiagram, renderMermaid } from './mermaid.js';
export { type SvgOptions, escapeXml, renderSvg, svgFromDiagram } from './svg.js';
export { type NdjsonOptions, ndjsonLines, renderNdjson, toBase64, toHex, toJsonObject } from './ndjson.js';
export { displayName, previewState } from './text.js';
