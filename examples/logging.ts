/**
 * Logging with pino and tracing every message. The library logs nothing unless given a logger, and
 * builds no trace event unless given a tracer.
 *
 * Run: npx tsx examples/logging.ts
 */
import { MemoryAcceptor, MemoryProposer, type TraceEvent, formatBallot } from 'caspaxos';
import pino from 'pino';

// Debug records go to stdout as JSON lines (pipe through pino-pretty to read them comfortably).
const logger = pino({ level: 'debug', base: null, timestamp: false });

// A tracer sees each message and reply, in order: enough to draw a sequence diagram.
const describe = (e: TraceEvent): string => {
  switch (e.type) {
    case 'prepare-sent':
    case 'accept-sent':
      return `${e.proposer} -> ${e.acceptor}  ${e.type.replace('-sent', '')} ${formatBallot(e.ballot)}`;
    case 'promised':
    case 'accepted':
    case 'prepare-conflict':
    case 'accept-conflict':
      return `${e.proposer} <- ${e.acceptor}  ${e.type}${e.late ? ' (late)' : ''}`;
    case 'committed':
      return `${e.proposer} committed ${e.key} under ${formatBallot(e.ballot)}`;
    default:
      return `${e.type}`;
  }
};

// Records already name the acceptor or proposer, so one logger can serve them all.
const acceptors = ['a1', 'a2', 'a3'].map((address) => new MemoryAcceptor(address, { logger }));
const proposer = new MemoryProposer('p1', acceptors, {
  logger,
  tracer: (event) => console.log(`trace: ${describe(event)}`),
});

await proposer.propose('greeting', () => new TextEncoder().encode('hello'));
