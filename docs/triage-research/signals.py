"""Label-free per-request failure/suspect signals. compute(rows) adds r['sig'] = {name: bool} and r['lang_q'], r['lang_a'].
All thresholds are relative to the traffic itself (per-service robust statistics), never tuned phrase lists."""
import json, re, collections, statistics, sys, os, pickle
from common import SCENARIOS

# ---------- language id (lingua, the Python build of lingua-rs), cached ----------
_LANG_CACHE = 'out/lang_cache_restricted.pkl'
_lang = None; _cache = None
def _detector():
    global _lang
    if _lang is None:
        from lingua import LanguageDetectorBuilder, IsoCode639_1
        # restricted to ~27 common living languages (what a Rust build would compile in); drops Latin/Tagalog/... false hits
        codes = 'en es fr de pt it nl pl ru uk tr ar hi zh ja ko vi id sv da nb fi cs ro hu el he'.split()
        _lang = LanguageDetectorBuilder.from_iso_codes_639_1(*[getattr(IsoCode639_1, c.upper()) for c in codes]).with_preloaded_language_models().build()
    return _lang
def strip_nonlang(t):
    t = re.sub(r'\[doc:[^\]]*\]', ' ', t or '')
    t = re.sub(r'\b[\w.-]*\d[\w.-]*\b', ' ', t)        # ids, numbers, codes
    t = re.sub(r'\b[a-z]+_[a-z_]+\b', ' ', t)          # snake_case identifiers (tool names)
    return re.sub(r'\s+', ' ', t).strip()
def lang_of(text, min_conf=0.25):
    """ISO 639-1 code or None when unsure / too little text."""
    global _cache
    if _cache is None:
        _cache = pickle.load(open(_LANG_CACHE, 'rb')) if os.path.exists(_LANG_CACHE) else {}
    t = strip_nonlang(text)[:400]
    if len(re.findall(r'\w+', t)) < 3: return None
    if t in _cache: return _cache[t]
    d = _detector(); vals = d.compute_language_confidence_values(t)
    res = vals[0].language.iso_code_639_1.name.lower() if vals and vals[0].value >= min_conf else None
    _cache[t] = res
    return res
def save_cache():
    if _cache is not None: pickle.dump(_cache, open(_LANG_CACHE, 'wb'))

# ---------- text normalisation ----------
def skeleton(ans):
    """Answer skeleton for repetition detection: case-folded, ids/numbers/doc refs masked."""
    s = (ans or '').lower()
    s = re.sub(r'\[doc:[^\]]*\]', '<doc>', s)
    s = re.sub(r'\b[\w.-]*\d[\w.-]*\b', '<n>', s)
    return re.sub(r'\s+', ' ', s).strip()
def first_sentence(s):
    m = re.match(r'(.+?[.!?:])(\s|$)', s)
    return m.group(1) if m else s

# tiny multilingual refusal / abstention cue set (secondary evidence only, never sufficient alone)
CUES = re.compile(r"\b(sorry|unable|can(no|')t|cannot|don't have|no information|lo siento|no puedo|no tengo|"
                  r"désolé|je ne peux|keine informationen|leider|não posso|desculpe|non posso|mi dispiace)\b", re.I)

def compute(rows):
    by_svc = collections.defaultdict(list)
    for r in rows: by_svc[r['service']].append(r)
    # per-service reference statistics over the whole window (robust: medians, quantiles)
    ref = {}
    for svc, rs in by_svc.items():
        L = [len(r['answer'] or '') for r in rs if not r['tool_error'] and r['finish_reason'] not in ('length',)]
        tops = [r['top_score'] for r in rs if r.get('top_score') is not None]
        cites = [any(d and d in (r['answer'] or '') for d in r.get('doc_ids') or []) for r in rs if r.get('n_docs')]
        ref[svc] = {'len_med': statistics.median(L) if L else 0,
                    'top_med': statistics.median(tops) if tops else None,
                    'top_mad': statistics.median([abs(t - statistics.median(tops)) for t in tops]) if tops else None,
                    'cite_rate': sum(cites) / len(cites) if cites else 0}
    # answer repetition across distinct questions (whole window)
    full_q = collections.defaultdict(set); fs_q = collections.defaultdict(set)
    for r in rows:
        sk = skeleton(r['answer']); full_q[sk].add(skeleton(r['question'])); fs_q[first_sentence(sk)].add(skeleton(r['question']))
    n = len(rows)
    for r in rows:
        rf = ref[r['service']]; a = r['answer'] or ''; sk = skeleton(a)
        s = {}
        s['error'] = bool(r['any_error_status'] or r['tool_error'])
        s['finish_bad'] = r['finish_reason'] in ('length', 'content_filter', 'error') or (
            r.get('max_tokens') and r.get('out_tokens_last') and r['out_tokens_last'] >= r['max_tokens'])
        s['no_docs'] = bool(r['has_retrieval'] and not r.get('n_docs'))
        s['low_top'] = bool(r.get('top_score') is not None and rf['top_med'] is not None and
                            r['top_score'] < rf['top_med'] - 6 * max(rf['top_mad'], 0.01))
        s['short'] = len(a) < 0.35 * rf['len_med'] and not s['error']
        s['dup_answer'] = len(full_q[sk]) >= max(5, 0.005 * n)        # same whole answer for >=5 distinct questions
        s['nocite'] = bool(rf['cite_rate'] >= 0.8 and r.get('n_docs') and not any(d and d in a for d in r['doc_ids']))
        lq = lang_of(r['question']); la = lang_of(a)
        r['lang_q'] = lq; r['lang_a'] = la
        s['lang_mismatch'] = bool(lq and la and lq != la)
        s['cue'] = bool(CUES.search(a)) and len(a) < rf['len_med']
        s['eval_fail'] = any((e.get('label') or '').lower() in ('fail', 'failed', 'incorrect', 'bad') or
                             (isinstance(e.get('score'), (int, float)) and e['score'] < 0.5) for e in r['evals'])
        s['loud'] = s['error'] or s['finish_bad']
        # silent abstention/generic answer: a short or repeated or ungrounded answer, or language mismatch
        s['silent'] = (s['no_docs'] or s['low_top'] and (s['short'] or s['nocite']) or s['dup_answer'] and (s['short'] or s['nocite'])
                       or s['short'] and s['nocite'] or s['lang_mismatch'])
        s['suspect'] = s['loud'] or s['silent'] or s['eval_fail']
        r['sig'] = s
    save_cache()
    return rows

def load(scen):
    return compute([json.loads(l) for l in open(f'out/{scen}.jsonl')])

if __name__ == '__main__':
    names = ['error', 'finish_bad', 'no_docs', 'low_top', 'short', 'dup_answer', 'nocite', 'lang_mismatch', 'cue', 'eval_fail', 'loud', 'silent', 'suspect']
    out = open('signals_eval.txt', 'w')
    def p(*a):
        print(*a); print(*a, file=out)
    p('per scenario, per signal: P=precision vs truth failing, R=recall, FPR_base/FPR_inc = share of truth-OK requests flagged in baseline/incident window')
    for scen in SCENARIOS:
        rows = load(scen)
        p(f'== {scen}: n={len(rows)} failing={sum(r["truth"]["failing"] for r in rows)}')
        for nm in names:
            tp = sum(r['sig'][nm] and r['truth']['failing'] for r in rows); fp = sum(r['sig'][nm] and not r['truth']['failing'] for r in rows)
            fn = sum((not r['sig'][nm]) and r['truth']['failing'] for r in rows)
            okb = [r for r in rows if not r['truth']['failing'] and r['truth']['window'] == 'baseline']
            oki = [r for r in rows if not r['truth']['failing'] and r['truth']['window'] == 'incident']
            fb = sum(r['sig'][nm] for r in okb) / max(1, len(okb)); fi = sum(r['sig'][nm] for r in oki) / max(1, len(oki))
            rb = [r for r in rows if r['truth']['window'] == 'baseline']; ri = [r for r in rows if r['truth']['window'] == 'incident']
            p(f'  {nm:14s} flagged={tp+fp:4d} P={tp/max(1,tp+fp):.2f} R={tp/max(1,tp+fn):.2f} FPR_base={fb:.3f} FPR_inc={fi:.3f} '
              f'rate_base={sum(r["sig"][nm] for r in rb)/len(rb):.3f} rate_inc={sum(r["sig"][nm] for r in ri)/len(ri):.3f}')
        # misses of suspect by reason
        miss = collections.Counter(r['truth']['reason'] for r in rows if r['truth']['failing'] and not r['sig']['suspect'])
        fpr = collections.Counter(tuple(k for k in names[:10] if r['sig'][k]) for r in rows if not r['truth']['failing'] and r['sig']['suspect'])
        p('  suspect misses by reason:', dict(miss), ' false-positive signal combos:', dict(fpr.most_common(6)))
