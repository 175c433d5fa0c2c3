/**
 * The audit trail: one JSON line per gateway event (observe/gatewayEvents.ts), with a
 * stable `event` name and flat fields, to the audit logger — stdout with the rest of the
 * log by default, its own file with AUDIT_LOG_FILE (main.ts). The schema is the README's
 * audit event table; a test checks every event it names.
 */
import type { Logger, LogFields } from '../log.js';
import type { GatewayEventMap, GatewayEventName, GatewayEvents, SshTarget } from './gatewayEvents.js';

type Level = 'info' | 'warn';

/** Each event's message and level: failures and refusals are warnings. */
export const AUDIT_EVENTS: { readonly [E in GatewayEventName]: { msg: string; level: Level } } = {
  'login.succeeded': { msg: 'login succeeded', level: 'info' },
  'login.failed': { msg: 'login failed', level: 'warn' },
  'login.limited': { msg: 'login rate limited', level: 'warn' },
  'session.started': { msg: 'session started', level: 'info' },
  'session.ended': { msg: 'session ended', level: 'info' },
  'hostkey.trusted': { msg: 'host key trusted', level: 'info' },
  'hostkey.mismatch': { msg: 'host key mismatch', level: 'warn' },
  'admin.action': { msg: 'admin action', level: 'info' },
  'admin.denied': { msg: 'admin access denied', level: 'warn' },
  'recording.incomplete': { msg: 'recording incomplete', level: 'warn' },
  'config.warning': { msg: 'configuration warning', level: 'warn' },
  'file.transfer': { msg: 'file transfer', level: 'info' },
};

/**
 * Flattens a payload for the line: the SSH account becomes `user` and `target`
 * (host:port), so log tools can group by either without parsing.
 */
export function auditFields<E extends GatewayEventName>(event: E, payload: GatewayEventMap[E][0]): LogFields {
  const { target, ...rest } = payload as { target?: SshTarget } & Record<string, unknown>;
  const fields: LogFields = { event };
  if (target) {
    fields.user = target.username;
    fields.target = `${target.host}:${target.port}`;
  }
  for (const [k, v] of Object.entries(rest)) if (v !== undefined) fields[k] = v;
  return fields;
}

/** Subscribes the audit logger to every event; returns the unsubscribe. */
export function recordAuditTrail(events: GatewayEvents, audit: Logger): () => void {
  const stops = (Object.keys(AUDIT_EVENTS) as GatewayEventName[]).map((event) => {
    const { msg, level } = AUDIT_EVENTS[event];
    const listener = (payload: GatewayEventMap[typeof event][0]) => audit[level](msg, auditFields(event, payload));
    (events.on as (e: string, l: typeof listener) => void)(event, listener);
    return () => (events.off as (e: string, l: typeof listener) => void)(event, listener);
  });
  return () => stops.forEach((stop) => stop());
}
