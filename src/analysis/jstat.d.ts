// jstat ships no types; declare only what the analysis uses so the rest stays checked.
declare module 'jstat' {
  interface JStatNormal {
    cdf(x: number, mean: number, sd: number): number;
    inv(p: number, mean: number, sd: number): number;
  }
  interface JStat {
    betaln(a: number, b: number): number;
    gammaln(x: number): number;
    normal: JStatNormal;
  }
  const jstat: { jStat: JStat };
  export default jstat;
}
