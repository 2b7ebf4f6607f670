// A fixed-capacity ring of numeric columns. Columns are Float64Arrays so the bytes a series can
// take are known exactly (documented in docs/monitoring.md); they start small and double up to the
// capacity so short-lived series stay cheap.

export class ColumnRing {
  private cols: Float64Array[];
  private cap: number;
  private head = 0;
  private len = 0;
  readonly maxCapacity: number;

  constructor(columns: number, maxCapacity: number, initial = 16) {
    this.maxCapacity = Math.max(1, maxCapacity);
    this.cap = Math.min(this.maxCapacity, initial);
    this.cols = Array.from({ length: columns }, () => new Float64Array(this.cap));
  }

  get length(): number {
    return this.len;
  }

  /** Appends a row; when full, the oldest row is overwritten. Returns true if a row was evicted. */
  push(row: readonly number[]): boolean {
    if (this.len === this.cap && this.cap < this.maxCapacity) this.grow();
    let evicted = false;
    if (this.len === this.cap) {
      this.head = (this.head + 1) % this.cap;
      this.len--;
      evicted = true;
    }
    const at = (this.head + this.len) % this.cap;
    for (let c = 0; c < this.cols.length; c++) this.cols[c]![at] = row[c] ?? 0;
    this.len++;
    return evicted;
  }

  /** Column value of row i, counted from the oldest (0) to the newest (length - 1). */
  get(i: number, col: number): number {
    return this.cols[col]![(this.head + i) % this.cap]!;
  }

  set(i: number, col: number, value: number): void {
    this.cols[col]![(this.head + i) % this.cap] = value;
  }

  dropOldest(n: number): void {
    const k = Math.min(n, this.len);
    this.head = (this.head + k) % this.cap;
    this.len -= k;
  }

  /** Index of the first row whose column `col` is >= value (columns used this way are sorted). */
  lowerBound(col: number, value: number): number {
    let lo = 0;
    let hi = this.len;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.get(mid, col) < value) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  bytes(): number {
    return this.cols.length * this.cap * Float64Array.BYTES_PER_ELEMENT;
  }

  maxBytes(): number {
    return this.cols.length * this.maxCapacity * Float64Array.BYTES_PER_ELEMENT;
  }

  private grow(): void {
    const next = Math.min(this.maxCapacity, this.cap * 2);
    this.cols = this.cols.map((old) => {
      const n = new Float64Array(next);
      for (let i = 0; i < this.len; i++) n[i] = old[(this.head + i) % this.cap]!;
      return n;
    });
    this.head = 0;
    this.cap = next;
  }
}
