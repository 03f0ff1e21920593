export type BillingErrorCode =
  | 'unknown_plan'
  | 'already_subscribed'
  | 'no_subscription'
  | 'bad_signature'
  | 'stripe_unavailable'
  | 'proxy_unavailable';

/** Billing's domain errors; `billingRoutes` maps each code to its HTTP status once. */
export class BillingError extends Error {
  readonly code: BillingErrorCode;
  constructor(code: BillingErrorCode, message: string) {
    super(message);
    this.code = code;
  }
}
