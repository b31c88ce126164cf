/**
 * Compile-time checks of the public types, run by `npm run typecheck` (tsc). Each
 * `@ts-expect-error` fails the type check if the line below it stops being an error.
 */
import pino from 'pino';
import {
  type Acceptor,
  type Accepter,
  type AcceptedState,
  type ChangeFunc,
  type ConfigurationChanger,
  type FastForwarder,
  type Logger,
  MemoryAcceptor,
  MemoryProposer,
  type Preparer,
  type Proposer,
  type RejectRemover,
  type State,
  type StateWatcher,
  garbageCollect,
  growCluster,
} from '../../src/index.js';
import { Operation, OperationHandle, createCluster, set } from '../../src/teach/index.js';

declare const preparer: Preparer;
declare const accepter: Accepter;
declare const acceptor: Acceptor;
declare const proposer: Proposer;

// The seed's roles, checked by the compiler: a bare Preparer is not an Acceptor.
// @ts-expect-error a Preparer lacks accept, rejectByAge, removeIfEqual, watch, listKeys and address
new MemoryProposer('p1', [preparer]);
// @ts-expect-error an Accepter is not an Acceptor either
void growCluster(accepter, [proposer]);
new MemoryProposer('p1', [acceptor]);

// The in-memory classes implement the composite roles.
const memoryAcceptor: Acceptor = new MemoryAcceptor('a1');
const memoryProposer: Proposer = new MemoryProposer('p1', [memoryAcceptor]);
const changers: ConfigurationChanger[] = [memoryProposer];
const forwarders: FastForwarder[] = [memoryProposer];
const removers: Array<RejectRemover & { readonly address: string }> = [memoryAcceptor];
void growCluster(memoryAcceptor, changers);
void garbageCollect('k', forwarders, removers);

// Acceptors watch accepted states with their ballots; proposers watch bare states.
const acceptorWatch: StateWatcher<AcceptedState> = memoryAcceptor;
const proposerWatch: StateWatcher<State> = memoryProposer;
// @ts-expect-error a proposer's watch yields states, not ballots
const wrongWatch: StateWatcher<AcceptedState> = memoryProposer;
void acceptorWatch;
void proposerWatch;
void wrongWatch;

// A change function maps a state to a state; nothing else.
const increment: ChangeFunc = (current) => Uint8Array.of((current?.[0] ?? 0) + 1);
// @ts-expect-error change functions return bytes or null, not strings
const bad: ChangeFunc = () => 'text';
void increment;
void bad;

// A pino logger fits the structural Logger type, child loggers included.
const logger: Logger = pino({ level: 'silent' });
const child: Logger = pino().child({ component: 'caspaxos' });
new MemoryProposer('p1', [memoryAcceptor], { logger, tracer: (event) => void event.type });
new MemoryAcceptor('a2', { logger: child });
// @ts-expect-error options are checked: no misspelled fields
new MemoryProposer('p1', [memoryAcceptor], { loger: logger });

// The teaching handle's old name stays usable, as a value and as a type (deprecated alias).
const teaching = createCluster();
const handle: OperationHandle = teaching.propose('p1', 'x', set('v'));
const oldName: Operation = handle;
const sameClass: typeof OperationHandle = Operation;
void oldName;
void sameClass;
void (handle instanceof Operation);
