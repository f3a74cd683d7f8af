/**
 * Linear prediction for the encoder: apodization windows, autocorrelation, Levinson–Durbin,
 * coefficient quantisation, and residuals of FIXED and LPC predictors. All arithmetic on
 * samples is exact: sums are doubles, and |coef| ≤ 2^14, |sample| ≤ 2^32, order ≤ 32 keeps
 * every prediction below 2^52.
 *
 * @module
 */

/** Largest residual magnitude FLAC allows (RFC 9639 section 9.2.7: within int32, not -2^31). */
export const MAX_RESIDUAL = 2147483647;

/** An apodization window description. */
export type WindowSpec =
  | { kind: "tukey"; p: number }
  | { kind: "partial_tukey"; parts: number; index: number; p: number }
  | { kind: "punchout_tukey"; parts: number; index: number; p: number }
  | { kind: "welch" };

const windowCache = new Map<string, Float64Array>();

/** The window `spec` for `n` samples (cached per spec and length). */
export function makeWindow(spec: WindowSpec, n: number): Float64Array {
  const key = JSON.stringify(spec) + ":" + n;
  const hit = windowCache.get(key);
  if (hit) return hit;
  const w = new Float64Array(n);
  const tukey = (out: Float64Array, start: number, len: number, p: number) => {
    // Tukey window of `len` samples at `start`, taper fraction p
    const taper = Math.floor((p / 2) * (len - 1));
    for (let i = 0; i < len; i++) out[start + i] = 1;
    if (taper > 0) {
      for (let i = 0; i <= taper; i++) {
        const v = 0.5 * (1 - Math.cos((Math.PI * i) / taper));
        out[start + i] = v;
        out[start + len - 1 - i] = v;
      }
    }
  };
  switch (spec.kind) {
    case "tukey":
      tukey(w, 0, n, spec.p);
      break;
    case "welch": {
      const h = (n - 1) / 2;
      for (let i = 0; i < n; i++) {
        const x = (i - h) / (h + 1);
        w[i] = 1 - x * x;
      }
      break;
    }
    case "partial_tukey": {
      const s = Math.floor((spec.index * n) / spec.parts);
      const e = Math.floor(((spec.index + 1) * n) / spec.parts);
      tukey(w, s, e - s, spec.p);
      break;
    }
    case "punchout_tukey": {
      const s = Math.floor((spec.index * n) / spec.parts);
      const e = Math.floor(((spec.index + 1) * n) / spec.parts);
      const a = new Float64Array(s);
      if (s > 0) tukey(a, 0, s, spec.p);
      w.set(a, 0);
      if (n - e > 0) {
        const b = new Float64Array(n - e);
        tukey(b, 0, n - e, spec.p);
        w.set(b, e);
      }
      break;
    }
  }
  if (windowCache.size > 256) windowCache.clear();
  windowCache.set(key, w);
  return w;
}

/** Zero samples kept in front of the windowed signal in `scratch` (see {@linkcode autocorrelation}). */
export const ACF_PAD = 40;

/**
 * Autocorrelation of `x[0, n)` multiplied by `window`, lags 0..maxLag (≤ 32), into `out`.
 * `scratch` (length ≥ n + {@linkcode ACF_PAD}) receives the windowed signal after ACF_PAD
 * zeros, so the kernels can read before the start without bounds checks.
 */
export function autocorrelation(
  x: Int32Array,
  n: number,
  window: Float64Array,
  maxLag: number,
  out: Float64Array,
  scratch: Float64Array,
): void {
  const P = ACF_PAD;
  for (let i = 0; i < P; i++) scratch[i] = 0;
  for (let i = 0; i < n; i++) scratch[P + i] = x[i] * window[i];
  const y = scratch;
  const end = P + n;
  // eight lags per pass over the signal (four for a short tail); extra lags are dropped
  let lag = 0;
  for (; maxLag - lag >= 4; lag += 8) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0, s5 = 0, s6 = 0, s7 = 0;
    for (let i = P + lag; i < end; i++) {
      const v = y[i];
      const j = i - lag;
      s0 += v * y[j];
      s1 += v * y[j - 1];
      s2 += v * y[j - 2];
      s3 += v * y[j - 3];
      s4 += v * y[j - 4];
      s5 += v * y[j - 5];
      s6 += v * y[j - 6];
      s7 += v * y[j - 7];
    }
    out[lag] = s0;
    if (lag + 1 <= maxLag) out[lag + 1] = s1;
    if (lag + 2 <= maxLag) out[lag + 2] = s2;
    if (lag + 3 <= maxLag) out[lag + 3] = s3;
    if (lag + 4 <= maxLag) out[lag + 4] = s4;
    if (lag + 5 <= maxLag) out[lag + 5] = s5;
    if (lag + 6 <= maxLag) out[lag + 6] = s6;
    if (lag + 7 <= maxLag) out[lag + 7] = s7;
  }
  if (lag <= maxLag) {
    let s0 = 0, s1 = 0, s2 = 0, s3 = 0;
    for (let i = P + lag; i < end; i++) {
      const v = y[i];
      const j = i - lag;
      s0 += v * y[j];
      s1 += v * y[j - 1];
      s2 += v * y[j - 2];
      s3 += v * y[j - 3];
    }
    out[lag] = s0;
    if (lag + 1 <= maxLag) out[lag + 1] = s1;
    if (lag + 2 <= maxLag) out[lag + 2] = s2;
    if (lag + 3 <= maxLag) out[lag + 3] = s3;
  }
}

/**
 * Levinson–Durbin recursion on autocorrelation `r[0..maxOrder]`. Writes the predictor of each
 * order m (x̂[n] = Σ_{j<m} coefs[m-1][j] · x[n-1-j]) into `coefs[m-1]` and the prediction error
 * into `errors[m]`. Returns the highest order computed (lower when the error reaches zero).
 */
export function levinsonDurbin(
  r: Float64Array,
  maxOrder: number,
  coefs: Float64Array[],
  errors: Float64Array,
): number {
  let err = r[0];
  errors[0] = err;
  const a = new Float64Array(maxOrder + 1);
  const tmp = new Float64Array(maxOrder + 1);
  for (let m = 1; m <= maxOrder; m++) {
    if (!(err > 0)) return m - 1;
    let acc = r[m];
    for (let j = 1; j < m; j++) acc -= a[j] * r[m - j];
    const k = acc / err;
    tmp.set(a);
    a[m] = k;
    for (let j = 1; j < m; j++) a[j] = tmp[j] - k * tmp[m - j];
    err *= 1 - k * k;
    const c = coefs[m - 1];
    for (let j = 0; j < m; j++) c[j] = a[j + 1];
    errors[m] = err;
  }
  return maxOrder;
}

/**
 * Quantises `coefs[0, order)` to `precision`-bit signed integers with error feedback.
 * Returns the right shift (0–15), or -1 when the coefficients cannot be represented.
 */
export function quantizeCoefs(
  coefs: Float64Array,
  order: number,
  precision: number,
  out: Int32Array,
): number {
  let cmax = 0;
  for (let j = 0; j < order; j++) {
    const a = Math.abs(coefs[j]);
    if (a > cmax) cmax = a;
    if (!Number.isFinite(a)) return -1;
  }
  if (cmax <= 0) return -1;
  const log2cmax = Math.floor(Math.log2(cmax)) + 1; // cmax < 2^log2cmax
  let shift = precision - 1 - log2cmax;
  if (shift > 15) shift = 15;
  if (shift < 0) return -1;
  const qmax = (1 << (precision - 1)) - 1;
  const qmin = -(1 << (precision - 1));
  const scale = 2 ** shift;
  let carry = 0;
  for (let j = 0; j < order; j++) {
    const e = coefs[j] * scale + carry;
    let q = Math.round(e);
    if (q > qmax) q = qmax;
    else if (q < qmin) q = qmin;
    carry = e - q;
    out[j] = q;
  }
  return shift;
}

/**
 * LPC residual: res[i] = x[i] - floor(Σ q[j]·x[i-1-j] / 2^shift) for i in [order, n).
 * Returns false when a residual falls outside ±(2^31 - 1).
 */
export function lpcResidual(
  x: Int32Array,
  n: number,
  q: Int32Array,
  order: number,
  shift: number,
  res: Int32Array,
): boolean {
  const inv = 2 ** -shift;
  let bad = false;
  if (order <= 4) {
    const c0 = q[0], c1 = order > 1 ? q[1] : 0, c2 = order > 2 ? q[2] : 0;
    const c3 = order > 3 ? q[3] : 0;
    let x1 = order > 0 ? x[order - 1] : 0, x2 = order > 1 ? x[order - 2] : 0;
    let x3 = order > 2 ? x[order - 3] : 0, x4 = order > 3 ? x[order - 4] : 0;
    for (let i = order; i < n; i++) {
      const xi = x[i];
      const r = xi - Math.floor((c0 * x1 + c1 * x2 + c2 * x3 + c3 * x4) * inv);
      if (r > MAX_RESIDUAL || r < -MAX_RESIDUAL) bad = true;
      res[i] = r;
      x4 = x3;
      x3 = x2;
      x2 = x1;
      x1 = xi;
    }
    return !bad;
  }
  if (order <= 12 && n > 12) {
    // unrolled 8- or 12-tap kernels; unused taps have zero coefficients
    const taps = order <= 8 ? 8 : 12;
    for (let i = order; i < taps; i++) {
      let s = 0;
      for (let j = 0; j < order; j++) s += q[j] * x[i - 1 - j];
      const r = x[i] - Math.floor(s * inv);
      if (r > MAX_RESIDUAL || r < -MAX_RESIDUAL) bad = true;
      res[i] = r;
    }
    const c0 = q[0], c1 = q[1], c2 = q[2], c3 = q[3], c4 = q[4];
    const c5 = order > 5 ? q[5] : 0, c6 = order > 6 ? q[6] : 0, c7 = order > 7 ? q[7] : 0;
    if (taps === 8) {
      for (let i = 8; i < n; i++) {
        const s = c0 * x[i - 1] + c1 * x[i - 2] + c2 * x[i - 3] + c3 * x[i - 4] + c4 * x[i - 5] +
          c5 * x[i - 6] + c6 * x[i - 7] + c7 * x[i - 8];
        const r = x[i] - Math.floor(s * inv);
        if (r > MAX_RESIDUAL || r < -MAX_RESIDUAL) bad = true;
        res[i] = r;
      }
      return !bad;
    }
    const c8 = q[8], c9 = order > 9 ? q[9] : 0, c10 = order > 10 ? q[10] : 0;
    const c11 = order > 11 ? q[11] : 0;
    for (let i = 12; i < n; i++) {
      const s = c0 * x[i - 1] + c1 * x[i - 2] + c2 * x[i - 3] + c3 * x[i - 4] + c4 * x[i - 5] +
        c5 * x[i - 6] + c6 * x[i - 7] + c7 * x[i - 8] + c8 * x[i - 9] + c9 * x[i - 10] +
        c10 * x[i - 11] + c11 * x[i - 12];
      const r = x[i] - Math.floor(s * inv);
      if (r > MAX_RESIDUAL || r < -MAX_RESIDUAL) bad = true;
      res[i] = r;
    }
    return !bad;
  }
  for (let i = order; i < n; i++) {
    let s = 0;
    for (let j = 0; j < order; j++) s += q[j] * x[i - 1 - j];
    const r = x[i] - Math.floor(s * inv);
    if (r > MAX_RESIDUAL || r < -MAX_RESIDUAL) bad = true;
    res[i] = r;
  }
  return !bad;
}

/**
 * FIXED predictor residual of `order` (0–4). Returns false when a residual falls outside
 * ±(2^31 - 1).
 */
export function fixedResidual(x: Int32Array, n: number, order: number, res: Int32Array): boolean {
  let bad = false;
  switch (order) {
    case 0:
      for (let i = 0; i < n; i++) {
        const r = x[i];
        if (r === -2147483648) bad = true;
        res[i] = r;
      }
      break;
    case 1:
      for (let i = 1; i < n; i++) {
        const r = x[i] - x[i - 1];
        if (r > MAX_RESIDUAL || r < -MAX_RESIDUAL) bad = true;
        res[i] = r;
      }
      break;
    case 2:
      for (let i = 2; i < n; i++) {
        const r = x[i] - 2 * x[i - 1] + x[i - 2];
        if (r > MAX_RESIDUAL || r < -MAX_RESIDUAL) bad = true;
        res[i] = r;
      }
      break;
    case 3:
      for (let i = 3; i < n; i++) {
        const r = x[i] - 3 * x[i - 1] + 3 * x[i - 2] - x[i - 3];
        if (r > MAX_RESIDUAL || r < -MAX_RESIDUAL) bad = true;
        res[i] = r;
      }
      break;
    default:
      for (let i = 4; i < n; i++) {
        const r = x[i] - 4 * x[i - 1] + 6 * x[i - 2] - 4 * x[i - 3] + x[i - 4];
        if (r > MAX_RESIDUAL || r < -MAX_RESIDUAL) bad = true;
        res[i] = r;
      }
  }
  return !bad;
}

/**
 * Sums of |residual| of the five FIXED predictors over x[4, n) (x[order, n) when n ≤ 4 is
 * impossible: callers pass n > 4), written to `out[0..4]`. Used to pick a FIXED order cheaply.
 */
export function fixedAbsSums(x: Int32Array, n: number, out: Float64Array): void {
  let s0 = 0, s1 = 0, s2 = 0, s3 = 0, s4 = 0;
  let p1 = x[3];
  const p2 = x[2], p3 = x[1], p4 = x[0];
  // running differences: e1 = x - x1, e2 = e1 - e1', ...
  let d1p = p1 - p2;
  let d2p = d1p - (p2 - p3);
  let d3p = d2p - ((p2 - p3) - (p3 - p4));
  for (let i = 4; i < n; i++) {
    const e0 = x[i];
    const e1 = e0 - p1;
    const e2 = e1 - d1p;
    const e3 = e2 - d2p;
    const e4 = e3 - d3p;
    s0 += e0 < 0 ? -e0 : e0;
    s1 += e1 < 0 ? -e1 : e1;
    s2 += e2 < 0 ? -e2 : e2;
    s3 += e3 < 0 ? -e3 : e3;
    s4 += e4 < 0 ? -e4 : e4;
    p1 = e0;
    d1p = e1;
    d2p = e2;
    d3p = e3;
  }
  out[0] = s0;
  out[1] = s1;
  out[2] = s2;
  out[3] = s3;
  out[4] = s4;
}
