// Time-of-day profile: a winsorised exponentially weighted mean and spread per slot of the day (UTC),
// so a value is compared with what this series usually does at this time. A slot is scored once it has
// `minCount` observations. Shared by the shipped detector and the research variants in bench/nab/.
import { CLIP } from './baseline.ts';

const DAY_MS = 86_400_000;

export interface SeasonalReading {
  /** |x - slot mean| in slot spreads (0 while the slot is immature) */
  z: number;
  /** the slot's mean (0 while immature) */
  expected: number;
  /** the spread z was measured in */
  scale: number;
  /** the slot read */
  slot: number;
  /** whether the slot had enough observations to be scored */
  mature: boolean;
}

export class TimeOfDayProfile {
  private readonly mean: Float64Array;
  private readonly dev: Float64Array;
  private readonly count: Uint32Array;
  private readonly rate: number;
  private readonly minCount: number;

  constructor(buckets: number, rate: number, minCount = 3) {
    const b = Math.max(0, buckets | 0);
    this.mean = new Float64Array(b);
    this.dev = new Float64Array(b);
    this.count = new Uint32Array(b);
    this.rate = rate;
    this.minCount = minCount;
  }

  get buckets(): number {
    return this.mean.length;
  }

  get bytes(): number {
    return this.mean.byteLength + this.dev.byteLength + this.count.byteLength;
  }

  /** slot of a timestamp, or -1 when there is no profile or no usable time */
  slotOf(timestamp: number): number {
    const nb = this.mean.length;
    if (nb === 0 || !Number.isFinite(timestamp)) return -1;
    return Math.floor((((timestamp % DAY_MS) + DAY_MS) % DAY_MS) / (DAY_MS / nb));
  }

  /**
   * Reads x against its slot, then learns it. `dev` is the level baseline's floored spread (the slot's
   * spread never counts as smaller than a quarter of it, so a slot that happened to be calm is not
   * over-sensitive), `seedDev` the unfloored one a new slot starts from; `rate` overrides the learning rate.
   */
  observe(timestamp: number, x: number, dev: number, seedDev: number, floor: number, rate = this.rate): SeasonalReading | undefined {
    const k = this.slotOf(timestamp);
    if (k < 0) return undefined;
    const c = this.count[k] as number;
    const sm = this.mean[k] as number;
    const sd = (this.dev[k] as number) + floor;
    const mature = c >= this.minCount;
    const scale = mature ? Math.max(sd, 0.25 * dev) : 1;
    const reading: SeasonalReading = { z: mature ? Math.abs(x - sm) / scale : 0, expected: mature ? sm : 0, scale, slot: k, mature };
    if (c === 0) {
      this.mean[k] = x;
      this.dev[k] = seedDev;
    } else {
      const ce = Math.max(-CLIP * sd, Math.min(CLIP * sd, x - sm));
      this.mean[k] = sm + rate * ce;
      this.dev[k] = (this.dev[k] as number) + rate * (Math.abs(ce) - (this.dev[k] as number));
    }
    this.count[k] = c + 1;
    return reading;
  }
}
