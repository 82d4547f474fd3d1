"""Compare whatlang vs lingua on question/answer language vs truth language."""
import json, collections, time, re
import whatlang
from lingua import LanguageDetectorBuilder, IsoCode639_1
from common import SCENARIOS
rows = [json.loads(l) for s in SCENARIOS for l in open(f'out/{s}.jsonl')]
def clean(t):  # drop ids/codes that carry no language: [doc:..], INV-123, SQL, numbers
    t = re.sub(r'\[doc:[^\]]*\]', ' ', t or '')
    t = re.sub(r'\b[A-Z]{2,}[-_]?\d+\b|\b\d[\d.,:-]*\b', ' ', t)
    return t
t0 = time.time(); full = LanguageDetectorBuilder.from_all_languages().with_preloaded_language_models().build(); t_full_load = time.time() - t0
low = LanguageDetectorBuilder.from_all_languages().with_low_accuracy_mode().build()
def wl(t):
    try:
        i = whatlang.detect(t); return i.lang, i.confidence, i.is_reliable
    except Exception: return None, 0, False
WL2ISO = {'eng': 'en', 'spa': 'es', 'por': 'pt', 'fra': 'fr', 'deu': 'de', 'ita': 'it', 'nld': 'nl', 'cat': 'ca', 'lat': 'la', 'glg': 'gl'}
res = collections.Counter(); conf = collections.defaultdict(collections.Counter); timing = collections.Counter()
for r in rows:
    q = clean(r['question']); truth = r['truth']['language']
    t0 = time.time(); l1 = full.detect_language_of(q); timing['lingua_hi'] += time.time() - t0
    t0 = time.time(); l2 = low.detect_language_of(q); timing['lingua_lo'] += time.time() - t0
    t0 = time.time(); w = wl(q); timing['whatlang'] += time.time() - t0
    l1 = l1.iso_code_639_1.name.lower() if l1 else None; l2 = l2.iso_code_639_1.name.lower() if l2 else None
    wiso = WL2ISO.get(w[0], w[0])
    for name, v in (('lingua_hi', l1), ('lingua_lo', l2), ('whatlang', wiso), ('whatlang_reliable', wiso if w[2] else None)):
        res[(name, v == truth)] += 1; conf[name][(truth, v)] += 1
print('lingua full load s', round(t_full_load, 2))
for n in ('lingua_hi', 'lingua_lo', 'whatlang', 'whatlang_reliable'):
    ok = res[(n, True)]; bad = res[(n, False)]
    print(n, 'acc', round(ok / (ok + bad), 4), 'errors', dict((k, v) for k, v in conf[n].items() if k[0] != k[1]), 'time_s', round(timing.get(n, 0), 2))
# answers: language of answer vs question
mm = collections.Counter()
for r in rows:
    ql = full.detect_language_of(clean(r['question'])); al = full.detect_language_of(clean(r['answer']))
    ql = ql.iso_code_639_1.name.lower() if ql else None; al = al.iso_code_639_1.name.lower() if al else None
    mm[(r['truth']['language'], ql, al, bool(r['truth']['failing']))] += 1
for k, v in sorted(mm.items(), key=str): print('q_truth,q_det,a_det,failing', k, v)
