#!/usr/bin/env python3
"""Reference values for tests/unit/test_similarity.c.

An independent re-derivation, in Python, of the published definitions that
lib/checks/similarity.c copies (sacreBLEU 2.x's BLEU with the 13a tokeniser
and rouge-score's ROUGE-N and ROUGE-L with its default tokeniser), written
from those definitions rather than from the C code. Run it to print the
values the C test expects:

    python3 tests/unit/reference/similarity.py
"""
import math
import re
from collections import Counter


# ---------------------------------------------------------------- sacreBLEU

RULES = [
    (re.compile(r'([\{-\~\[-\` -\&\(-\+\:-\@\/])'), r' \1 '),
    (re.compile(r'([^0-9])([\.,])'), r'\1 \2 '),
    (re.compile(r'([\.,])([^0-9])'), r' \1 \2'),
    (re.compile(r'([0-9])(-)'), r'\1 \2 '),
]


def tokenize_13a(line):
    line = line.rstrip()
    line = line.replace('<skipped>', '')
    line = line.replace('-\n', '')
    line = line.replace('\n', ' ')
    line = line.replace('&quot;', '"')
    line = line.replace('&amp;', '&')
    line = line.replace('&lt;', '<')
    line = line.replace('&gt;', '>')
    line = ' {} '.format(line)
    for rx, repl in RULES:
        line = rx.sub(repl, line)
    return ' '.join(line.strip().split())


def ngrams(tokens, n_max=4):
    c = Counter()
    for n in range(1, n_max + 1):
        for i in range(len(tokens) - n + 1):
            c[tuple(tokens[i:i + n])] += 1
    return c


def closest_ref_len(hyp_len, ref_lens):
    best_diff, best = -1, -1
    for r in ref_lens:
        d = abs(hyp_len - r)
        if best_diff == -1 or d < best_diff:
            best_diff, best = d, r
        elif d == best_diff and r < best:
            best = r
    return best


def segment_stats(hyp, refs):
    h = tokenize_13a(hyp).split()
    ref_counts = Counter()
    ref_lens = []
    for r in refs:
        t = tokenize_13a(r).split()
        ref_lens.append(len(t))
        for g, c in ngrams(t).items():
            ref_counts[g] = max(ref_counts[g], c)
    correct = [0] * 4
    total = [0] * 4
    for g, c in ngrams(h).items():
        total[len(g) - 1] += c
        correct[len(g) - 1] += min(c, ref_counts.get(g, 0))
    return [len(h), closest_ref_len(len(h), ref_lens)] + correct + total


def bleu(stats, effective_order):
    sys_len, ref_len = stats[0], stats[1]
    correct, total = stats[2:6], stats[6:10]
    bp = 1.0 if sys_len >= ref_len else (
        math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0)
    if not any(correct):
        return 0.0
    prec = [0.0] * 4
    smooth = 1.0
    order = 4
    for n in range(1, 5):
        if total[n - 1] == 0:
            break
        if effective_order:
            order = n
        if correct[n - 1] == 0:
            smooth *= 2
            prec[n - 1] = 100.0 / (smooth * total[n - 1])
        else:
            prec[n - 1] = 100.0 * correct[n - 1] / total[n - 1]
    logs = [math.log(p) if p > 0 else -9999999999 for p in prec[:order]]
    return bp * math.exp(sum(logs) / order)


def sentence_bleu(hyp, refs):
    return bleu(segment_stats(hyp, refs), True)


def corpus_bleu(hyps, ref_streams):
    total = [0] * 10
    for i, h in enumerate(hyps):
        s = segment_stats(h, [stream[i] for stream in ref_streams])
        total = [a + b for a, b in zip(total, s)]
    return bleu(total, False), total


# ---------------------------------------------------------------- ROUGE

def rouge_tokens(text):
    text = text.lower()
    text = re.sub(r'[^a-z0-9]+', ' ', text)
    return [t for t in re.split(r'\s+', text) if re.match(r'^[a-z0-9]+$', t)]


def fmeasure(p, r):
    return 2 * p * r / (p + r) if p + r > 0 else 0.0


def rouge_n(target, prediction, n):
    t = rouge_tokens(target)
    p = rouge_tokens(prediction)
    tg = Counter(tuple(t[i:i + n]) for i in range(len(t) - n + 1))
    pg = Counter(tuple(p[i:i + n]) for i in range(len(p) - n + 1))
    overlap = sum(min(c, pg[g]) for g, c in tg.items())
    prec = overlap / max(sum(pg.values()), 1)
    rec = overlap / max(sum(tg.values()), 1)
    return prec, rec, fmeasure(prec, rec)


def rouge_l(target, prediction):
    t = rouge_tokens(target)
    p = rouge_tokens(prediction)
    if not t or not p:
        return 0.0, 0.0, 0.0
    table = [[0] * (len(p) + 1) for _ in range(len(t) + 1)]
    for i in range(1, len(t) + 1):
        for j in range(1, len(p) + 1):
            if t[i - 1] == p[j - 1]:
                table[i][j] = table[i - 1][j - 1] + 1
            else:
                table[i][j] = max(table[i - 1][j], table[i][j - 1])
    lcs = table[-1][-1]
    prec, rec = lcs / len(p), lcs / len(t)
    return prec, rec, fmeasure(prec, rec)


SENTENCES = [
    ("The dog bit the man.", ["The dog bit the man."]),
    ("It wasn't surprising.", ["It was not unexpected.", "No one was surprised."]),
    ("The man had just bitten him.", ["The man bit him first.", "The man had bitten the dog."]),
    ("Hello, world! Pi is 3.14 and 1,000 items cost $5-3.",
     ["Hello world: pi is 3.14, and 1,000 items cost $5."]),
    ("Tom &amp; Jerry &lt;3 &quot;cartoons&quot;", ['Tom & Jerry <3 "cartoons"']),
    ("a b c d e f", ["a b c x e f g h"]),
    ("completely different", ["nothing shared here"]),
    ("Caf\u00e9 cr\u00e8me, s'il vous pla\u00eet.", ["Un caf\u00e9 cr\u00e8me s'il vous pla\u00eet !"]),
    ("well-known co-operation in 2019-2020", ["a well-known co-operation, 2019-2020."]),
    ("", ["something"]),
]

ROUGE = [
    ("The quick brown fox jumps over the lazy dog",
     "The quick brown dog jumps on the log."),
    ("police killed the gunman", "police kill the gunman"),
    ("the cat was found under the bed", "the cat was under the bed"),
    ("Hello, World! HELLO world.", "hello world hello"),
    ("nothing in common", "zebra"),
    ("Caf\u00e9 d\u00e9j\u00e0 vu 42", "cafe deja vu 42"),
]


def main():
    sys_ = ['The dog bit the man.', "It wasn't surprising.",
            'The man had just bitten him.']
    refs = [['The dog bit the man.', 'It was not unexpected.',
             'The man bit him first.'],
            ['The dog had bit the man.', 'No one was surprised.',
             'The man had bitten the dog.']]
    score, stats = corpus_bleu(sys_, refs)
    print('corpus BLEU (sacreBLEU README example): %.12f stats %s'
          % (score, stats))
    for hyp, r in SENTENCES:
        print('sentence %r: tokens %r BLEU %.12f'
              % (hyp, tokenize_13a(hyp), sentence_bleu(hyp, r)))
    for target, prediction in ROUGE:
        r1 = rouge_n(target, prediction, 1)
        r2 = rouge_n(target, prediction, 2)
        rl = rouge_l(target, prediction)
        print('rouge %r vs %r: 1 %.12f 2 %.12f L %.12f'
              % (prediction, target, r1[2], r2[2], rl[2]))


if __name__ == '__main__':
    main()
