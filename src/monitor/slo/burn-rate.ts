// Burn-rate arithmetic from the Google SRE Workbook, "Alerting on SLOs". Burn rate is how fast the
// error budget is being spent relative to spending it exactly over the SLO period: an error ratio
// of (1 - objective) is 1x; 100% errors on a 99.9% SLO is 1000x.
import { z } from 'zod';
import { duration } from '../../config/duration.ts';

const MIN = 60_000;
const HOUR = 60 * MIN;
const DAY = 24 * HOUR;

export const burnRateAlertSchema = z.strictObject({
  /** e.g. page or ticket; becomes the alert's severity label */
  severity: z.string().min(1),
  long_window: duration,
  short_window: duration,
  /** fire when both windows burn at least this many times the sustainable rate */
  burn_rate: z.number().positive(),
});

export type BurnRateAlertSpec = z.output<typeof burnRateAlertSchema>;

/**
 * The Workbook's multiwindow, multi-burn-rate alerts for a 30-day SLO. Each burn rate is the one
 * that spends a chosen share of the budget within the long window: 2% in 1h, 5% in 6h, 10% in 3d
 * (see burnRateForBudget). The short window, 1/12 of the long one, lets the alert stop soon after
 * the errors do.
 */
export const defaultBurnRateAlerts: readonly BurnRateAlertSpec[] = [
  { severity: 'page', long_window: HOUR, short_window: 5 * MIN, burn_rate: 14.4 },
  { severity: 'page', long_window: 6 * HOUR, short_window: 30 * MIN, burn_rate: 6 },
  { severity: 'ticket', long_window: 3 * DAY, short_window: 6 * HOUR, burn_rate: 1 },
];

export const defaultSloPeriodMs = 30 * DAY;

export function burnRate(errorRatio: number, objective: number): number {
  return errorRatio / (1 - objective);
}

/** Share of the period's error budget spent by burning at `rate` for `windowMs`. */
export function budgetConsumed(rate: number, windowMs: number, periodMs: number = defaultSloPeriodMs): number {
  return (rate * windowMs) / periodMs;
}

/** The burn rate that spends `budgetShare` of the budget in `windowMs`: 2% in 1h of 30d is 14.4. */
export function burnRateForBudget(budgetShare: number, windowMs: number, periodMs: number = defaultSloPeriodMs): number {
  return (budgetShare * periodMs) / windowMs;
}

/**
 * Time from the start of a steady burn at `actualRate` (after a clean window) until the error ratio
 * averaged over `windowMs` reaches `threshold`: threshold x window / actual. Infinity if it never does.
 */
export function timeToFire(threshold: number, windowMs: number, actualRate: number): number {
  if (actualRate < threshold || actualRate <= 0) return Infinity;
  return (threshold * windowMs) / actualRate;
}

/** Detection time of a two-window alert: both windows must reach the threshold, so the slower one decides. */
export function detectionTime(alert: BurnRateAlertSpec, actualRate: number): number {
  return Math.max(timeToFire(alert.burn_rate, alert.long_window, actualRate), timeToFire(alert.burn_rate, alert.short_window, actualRate));
}

/**
 * How long a two-window alert keeps firing after a steady burn (at least as long as the short
 * window) stops: until the short window's average falls below the threshold, window x (1 - threshold / actual).
 */
export function resetTime(alert: BurnRateAlertSpec, actualRate: number): number {
  if (actualRate < alert.burn_rate) return 0;
  return alert.short_window * (1 - alert.burn_rate / actualRate);
}

/** Time until the whole period's budget is gone at a steady `rate`: 30 d / 1000 = 43.2 min. */
export function timeToExhaustion(rate: number, periodMs: number = defaultSloPeriodMs): number {
  return rate <= 0 ? Infinity : periodMs / rate;
}
