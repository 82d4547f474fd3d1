"""Change-point on the per-request suspect indicator (time ordered).
 - single upward step, Bernoulli (binomial) likelihood ratio, argmax over split index (min 30 requests each side)
 - p-value by permutation (999 shuffles; H0 = exchangeable over time)
 - onset interval: parametric bootstrap (200 sims from the fitted two-rate model) -> 2.5/97.5% quantiles of tau
 - ramp start: last time before tau_hat where the Page CUSUM (log-LR increments p0 vs p1) was 0
Decision: shift iff p<0.01 and p1>p0 and p1-p0>=0.05 and p1/p0>=1.5 and excess suspects n1*(p1-p0)>=10."""
import json, datetime, numpy as np
from common import SCENARIOS, load_truth
import signals
MIN_SEG = 30
def llr_curve(x):
    n = len(x); c = np.cumsum(x); k = np.arange(1, n)               # split after index k-1: left = x[:k]
    kl = c[:-1]; kr = c[-1] - kl; nl = k; nr = n - k
    def ll(s, m):
        p = np.clip(s / m, 1e-12, 1 - 1e-12); return s * np.log(p) + (m - s) * np.log(1 - p)
    p = c[-1] / n; l0 = c[-1] * np.log(max(p, 1e-12)) + (n - c[-1]) * np.log(max(1 - p, 1e-12))
    L = ll(kl, nl) + ll(kr, nr) - l0
    up = (kr / nr) > (kl / nl)
    L = np.where(up, L, 0.0)                                           # one-sided: degradations only
    L[:MIN_SEG - 1] = 0; L[n - MIN_SEG:] = 0
    return L
def detect(ts, x, rng, n_perm=999, n_boot=200):
    order = np.argsort(ts); ts = np.asarray(ts)[order]; x = np.asarray(x, float)[order]
    L = llr_curve(x); k = int(np.argmax(L)); lmax = float(L[k]); tau = k + 1
    p0 = x[:tau].mean(); p1 = x[tau:].mean()
    perm = np.array([llr_curve(rng.permutation(x)).max() for _ in range(n_perm)])
    pval = (1 + (perm >= lmax).sum()) / (n_perm + 1)
    boots = []
    for _ in range(n_boot):
        xb = np.concatenate([rng.random(tau) < p0, rng.random(len(x) - tau) < p1]).astype(float)
        boots.append(int(np.argmax(llr_curve(xb))) + 1)
    lo, hi = np.percentile(boots, [2.5, 97.5]).astype(int)
    # Page CUSUM for ramp start
    a = np.log(max(p1, 1e-6) / max(p0, 1e-6)); b = np.log(max(1 - p1, 1e-6) / max(1 - p0, 1e-6))
    S = 0.0; last0 = 0
    for i in range(tau + 1):
        S = max(0.0, S + (a if x[i] else b))
        if S == 0.0: last0 = i + 1
    start = min(last0, tau)
    # ramp refinement (partial/gradual rollouts): p(t) = p0 + (p1-p0)*clip((t-a)/(b-a),0,1), a,b on a 30 s grid within
    # +-30 min of the step; keep the ramp if it beats the step by >= 2 log-lik units (1 extra parameter, AIC-like)
    def ll_of(p): p = np.clip(p, 1e-9, 1 - 1e-9); return float((x * np.log(p) + (1 - x) * np.log(1 - p)).sum())
    t_tau = ts[tau]; step_ll = ll_of(np.where(np.arange(len(x)) < tau, p0, p1))
    best = (step_ll, t_tau, t_tau); G = 30e9
    for a in np.arange(t_tau - 60 * G, t_tau + G, G):
        for b in np.arange(max(a + G, t_tau), t_tau + 61 * G, G):
            v = ll_of(p0 + (p1 - p0) * np.clip((ts - a) / (b - a), 0, 1))
            if v > best[0]: best = (v, a, b)
    ramp = best[0] - step_ll >= 2.0
    fs = int(np.searchsorted(ts, best[1])) if ramp else tau
    shift = pval < 0.01 and p1 > p0 and p1 - p0 >= 0.05 and p1 / max(p0, 1e-9) >= 1.5 and (len(x) - tau) * (p1 - p0) >= 10
    return {'shift': bool(shift), 'p': float(pval), 'llr': lmax, 'p0': float(p0), 'p1': float(p1), 'n0': tau, 'n1': len(x) - tau,
            'tau_time': int(ts[tau]), 'ci': (int(ts[lo]), int(ts[min(hi, len(ts) - 1)])), 'start_time': int(ts[min(fs, len(ts)-1)]), 'ramp': bool(ramp), 'ramp_end': int(best[2]), 'ramp_gain': best[0] - step_ll}
SLICES = False  # per-slice stage A never fired (999 perms x ~12 slices cannot reach Bonferroni 0.01); stage B replaces it
def detect_multi(rows, rng, n_perm=999, n_boot=200, alpha=0.01):
    """Global + per-slice (service, tool, requested model) step detection, Bonferroni over slices.
    Returns the global result if it passes, else the most significant passing slice, else the global (shift=False)."""
    slices = {'all': rows}
    for r in (rows if SLICES else []):
        slices.setdefault('service=' + r['service'], []).append(r)
        if r.get('request_model'): slices.setdefault('request_model=' + r['request_model'], []).append(r)
        for t in {t['name'] for t in r['tools']}: slices.setdefault('tool=' + t, []).append(r)
    slices = {k: v for k, v in slices.items() if len(v) >= 4 * MIN_SEG}
    m = len(slices); res = {}
    for k, v in slices.items():
        d = detect([r['start'] for r in v], [r['sig']['suspect'] for r in v], rng, n_perm=n_perm, n_boot=n_boot)
        d['p_bonf'] = min(1.0, d['p'] * m); d['slice'] = k; d['n_slices'] = m
        d['shift'] = d['shift'] and (d['p_bonf'] < alpha if k != 'all' else True)
        res[k] = d
    if res['all']['shift']: return res['all']
    ok = [d for d in res.values() if d['shift']]
    return max(ok, key=lambda d: d['llr']) if ok else res['all']
def fmt(ns): return datetime.datetime.utcfromtimestamp(ns / 1e9).strftime('%H:%M:%S')
if __name__ == '__main__':
    rng = np.random.default_rng(7); out = open('onset.txt', 'w'); res = {}
    for scen in SCENARIOS:
        rows = signals.load(scen); t = load_truth(scen)
        d = detect([r['start'] for r in rows], [r['sig']['suspect'] for r in rows], rng)
        ct = t['change_time']['unix_nano'] if t['change_time'] else None
        line = (f"{scen:18s} shift={d['shift']} p={d['p']:.3f} LLR={d['llr']:.1f} rate {d['p0']:.3f}->{d['p1']:.3f} (n {d['n0']}/{d['n1']}) "
                f"step={fmt(d['tau_time'])} 95%CI=[{fmt(d['ci'][0])},{fmt(d['ci'][1])}] ramp={d['ramp']} (gain {d['ramp_gain']:.1f}) onset={fmt(d['start_time'])} ramp_end={fmt(d['ramp_end'])} truth={fmt(ct) if ct else None}"
                + (f" err_step={(d['tau_time']-ct)/6e10:+.1f}min err_start={(d['start_time']-ct)/6e10:+.1f}min" if ct else ''))
        print(line); out.write(line + '\n'); res[scen] = d
        # loud-only comparison
        d2 = detect([r['start'] for r in rows], [r['sig']['loud'] for r in rows], rng, n_perm=199, n_boot=50)
        line = f"{'':18s} (loud-only signal: shift={d2['shift']} p={d2['p']:.3f} rate {d2['p0']:.3f}->{d2['p1']:.3f} step={fmt(d2['tau_time'])})"
        print(line); out.write(line + '\n')
    json.dump(res, open('out/onset.json', 'w'), indent=1)
