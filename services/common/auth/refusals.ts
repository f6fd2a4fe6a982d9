/**
 * Every call refused for want of a credential or a right is logged once
 * (principal, method, reason; never the token) and counted, as
 * vswap_auth_refused_total{method,reason} on the metrics endpoint.
 */
import { Counter, type Registry } from 'prom-client';
import type { Logger } from '../logger';

export type RefusalReason =
  /** No authorization metadata and no client certificate. */
  | 'no_credentials'
  /** authorization metadata that is not `Bearer <token>`. */
  | 'malformed_credentials'
  /** A token no principal (or not the cluster secret) has. */
  | 'bad_token'
  /** A verified client certificate whose CN names no principal (or not the coordinator). */
  | 'unknown_certificate'
  /** Valid principal, owner outside its list. */
  | 'owner_not_allowed'
  /** A slot of an owner outside the principal's list (answered NOT_FOUND). */
  | 'slot_not_visible'
  /** An admin-only method from a client. */
  | 'admin_only'
  | 'max_owners'
  | 'max_slots'
  | 'max_in_flight'
  | 'max_owners_total';

export class Refusals {
  private readonly counter: Counter<'method' | 'reason'> | undefined;
  /** Refused calls by reason (also without a metrics endpoint; tests read it). */
  readonly counts = new Map<RefusalReason, number>();

  constructor(
    private readonly log: Logger,
    registry?: Registry,
  ) {
    this.counter =
      registry &&
      new Counter({
        name: 'vswap_auth_refused_total',
        help: 'calls refused by authentication or authorization, by method and reason',
        labelNames: ['method', 'reason'] as const,
        registers: [registry],
      });
  }

  /** Logs and counts one refused call. `principal`: undefined when the caller was not authenticated. */
  refuse(principal: string | undefined, method: string, reason: RefusalReason, detail: string): void {
    this.counts.set(reason, (this.counts.get(reason) ?? 0) + 1);
    this.counter?.inc({ method, reason });
    this.log.warn({ principal: principal ?? null, method, reason }, `refused: ${detail}`);
  }
}
