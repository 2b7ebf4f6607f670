// Numbers as a person reads them in a verdict sentence.

export function count(value: number): string {
  return value.toLocaleString('en-US');
}

export function percent(rate: number): string {
  if (!Number.isFinite(rate)) return 'n/a';
  const value = rate * 100;
  if (value === 0 || value === 100) return `${value}%`;
  if (value >= 10) return `${value.toFixed(0)}%`;
  if (value >= 1) return `${value.toFixed(1)}%`;
  if (value >= 0.01) return `${value.toFixed(2)}%`;
  return `${value.toPrecision(1)}%`;
}

/** "99.9%": confidence rounded down, so the sentence never claims more than was shown. */
export function confidence(level: number): string {
  const alpha = 1 - level;
  if (alpha <= 1e-9) return '>99.9999999%';
  const digits = Math.max(0, Math.ceil(-Math.log10(alpha) - 1e-9) - 2);
  const scale = 10 ** digits;
  const shown = Math.floor(level * 100 * scale) / scale;
  return `${shown.toFixed(digits)}%`;
}

export function ms(value: number): string {
  if (value === Number.POSITIVE_INFINITY) return 'beyond the last bucket';
  if (!Number.isFinite(value)) return 'n/a';
  if (value >= 100) return `${value.toFixed(0)} ms`;
  if (value >= 10) return `${value.toFixed(1)} ms`;
  return `${value.toFixed(2)} ms`;
}

export function ratio(value: number): string {
  if (!Number.isFinite(value)) return 'x?';
  return `x${value.toFixed(2)}`;
}

export function number(value: number): string {
  if (!Number.isFinite(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(0) : value.toPrecision(3);
}

/** Percentage points: 0.005 -> "0.5 pp". */
export function points(rate: number): string {
  return `${Number((rate * 100).toPrecision(3))} pp`;
}

export function quantileName(q: number): string {
  return `p${(q * 100).toFixed(q * 100 === Math.round(q * 100) ? 0 : 1)}`;
}
