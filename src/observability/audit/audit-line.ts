import fastJson from 'fast-json-stringify';
import type { DestinationStream } from 'pino';
import type { Logger } from '../../logging/logger.js';
import type { ValidationRecord } from '../../server/gate/ports.js';
import { AUDIT_EVENT, plainSuccess } from './audit-event.js';

export type AuditLevel = 'info' | 'warn';

/**
 * What the serialiser reads for a line: the line's own members (level, time, the logger's bindings) and, through
 * getters made from AUDIT_EVENT, the event's members read from `record`. One view serves every line, so a line
 * builds no object, only its text.
 */
class AuditLineView {
  level = 0;
  time = '';
  record: ValidationRecord | undefined = undefined;
}
for (const member of AUDIT_EVENT) {
  Object.defineProperty(AuditLineView.prototype, member.name, {
    get(this: AuditLineView) {
      return member.read(this.record!);
    },
  });
}

/**
 * The `token_validated` line: `{"level":30,"time":"…"`, the logger's bindings, the event's members, a newline; the
 * line of pino's own for the same event through createLogger's logger. It goes to that logger's destination, so it
 * stays in order with the logger's other lines. The serialiser is compiled once, from AUDIT_EVENT.
 */
export class AuditLine {
  private readonly serialise: (view: AuditLineView) => string;
  /** The same schema with every string written as it is, for lines whose strings are all plain (plainSuccess). */
  private readonly serialisePlain: (view: AuditLineView) => string;
  private readonly view = new AuditLineView();
  private readonly levels: Readonly<Record<AuditLevel, number>>;
  private lastNow = Number.NaN;
  private lastTime = '';

  constructor(
    private readonly destination: DestinationStream,
    logger: Logger,
  ) {
    const bindings = logger.bindings();
    // toISOString's text never needs escaping.
    const properties: Record<string, unknown> = { level: { type: 'integer' }, time: { type: 'string', format: 'unsafe' } };
    for (const [name, value] of Object.entries(bindings)) properties[name] = typeof value === 'string' ? { type: 'string' } : {};
    for (const member of AUDIT_EVENT) properties[member.name] = member.schema;
    this.serialise = fastJson({ type: 'object', properties } as fastJson.ObjectSchema);
    this.serialisePlain = fastJson({ type: 'object', properties: withPlainStrings(properties) } as fastJson.ObjectSchema);
    Object.assign(this.view, bindings);
    this.levels = { info: logger.levels.values.info!, warn: logger.levels.values.warn! };
  }

  write(level: AuditLevel, record: ValidationRecord): void {
    const view = this.view;
    view.level = this.levels[level];
    view.time = this.isoTime(Date.now());
    view.record = record;
    this.destination.write((plainSuccess(record) ? this.serialisePlain(view) : this.serialise(view)) + '\n');
  }

  /** pino.stdTimeFunctions.isoTime's text, made once per millisecond: lines of a busy second share most of theirs. */
  private isoTime(now: number): string {
    if (now !== this.lastNow) {
      this.lastTime = new Date(now).toISOString();
      this.lastNow = now;
    }
    return this.lastTime;
  }
}

/** The event's string members written without escaping (the logger's bindings keep theirs): only for plain lines. */
function withPlainStrings(properties: Record<string, unknown>): Record<string, unknown> {
  const members = new Set(AUDIT_EVENT.map((member) => member.name));
  const plain: Record<string, unknown> = {};
  for (const [name, schema] of Object.entries(properties)) {
    const type = (schema as { type?: unknown }).type;
    const items = (schema as { items?: { type?: unknown } }).items;
    if (!members.has(name)) plain[name] = schema;
    else if (type === 'string') plain[name] = { type: 'string', format: 'unsafe' };
    else if (type === 'array' && items?.type === 'string') plain[name] = { type: 'array', items: { type: 'string', format: 'unsafe' } };
    else plain[name] = schema;
  }
  return plain;
}
