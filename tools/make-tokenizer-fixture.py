#!/usr/bin/python3
"""Generates the sentencepiece test fixtures with Debian's python3-sentencepiece (0.1.97).

Run with the system Python (it has the sentencepiece module): /usr/bin/python3 tools/make-tokenizer-fixture.py

Writes:
  tests/data/spm-*.model            small unigram models trained here on a generated corpus, some
                                    then edited at the protobuf level (flags, piece types) to reach
                                    encoder paths no trainer option produces
  tests/data/sentencepiece-cases.txt  expected ids of `SentencePieceProcessor.encode(text)` for a
                                    list of strings, per model (the golden test model included)
  tests/fuzz/corpus/sentencepiece/  seed inputs for fuzz-sentencepiece: small valid models and
                                    deliberately broken ones

Case file format (UTF-8 text, '#' lines are comments):
  model NAME              following lines use NAME: golden/<file> is in SINOPIA_SHARED_DIR's
                          golden/text-encoders, anything else in tests/data
  special UNK BOS EOS PAD N   unk_id() bos_id() eos_id() pad_id() get_piece_size()
  piece ID HEX            id_to_piece(ID) is the UTF-8 bytes HEX and piece_to_id of them is ID
  lookup HEX ID           piece_to_id(bytes HEX) is ID (strings that are no piece give unk)
  case HEX IDS...         encode(bytes HEX) gives IDS (HEX may be '-' for the empty string)
"""

import io
import os
import random
import sys
import zlib

import sentencepiece as spm

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
DATA = os.path.join(ROOT, 'tests', 'data')
SEEDS = os.path.join(ROOT, 'tests', 'fuzz', 'corpus', 'sentencepiece')
SHARED = os.environ.get('SINOPIA_SHARED_DIR', os.path.join(ROOT, '..', 'shared'))
GOLDEN_MODEL = os.path.join(SHARED, 'golden', 'text-encoders', 'sentencepiece_test_model.model')


# --- protobuf wire format, just enough to edit a ModelProto -------------------------------------

def varint(v):
    v &= (1 << 64) - 1
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        if v:
            out.append(b | 0x80)
        else:
            out.append(b)
            return bytes(out)


def read_varint(b, i):
    v = shift = 0
    while True:
        c = b[i]
        i += 1
        v |= (c & 0x7f) << shift
        shift += 7
        if c < 0x80:
            return v, i


def fields(b):
    """[(field, wire, raw payload bytes)] of one message."""
    i, out = 0, []
    while i < len(b):
        tag, i = read_varint(b, i)
        f, w = tag >> 3, tag & 7
        start = i
        if w == 0:
            _, i = read_varint(b, i)
            out.append((f, w, b[start:i]))
        elif w == 2:
            n, i = read_varint(b, i)
            out.append((f, w, b[i:i + n]))
            i += n
        elif w == 5:
            out.append((f, w, b[i:i + 4]))
            i += 4
        elif w == 1:
            out.append((f, w, b[i:i + 8]))
            i += 8
        else:
            raise ValueError('group in a model file')
    return out


def encode_fields(fs):
    out = bytearray()
    for f, w, payload in fs:
        out += varint(f << 3 | w)
        if w == 2:
            out += varint(len(payload))
        out += payload
    return bytes(out)


def set_field(msg, field, wire, payload):
    """msg with every `field` replaced by one occurrence carrying payload."""
    fs = [x for x in fields(msg) if x[0] != field]
    fs.append((field, wire, payload))
    return encode_fields(fs)


def edit_submessage(model, field, edit):
    fs = fields(model)
    found = False
    for k, (f, w, p) in enumerate(fs):
        if f == field:
            fs[k] = (f, w, edit(p))
            found = True
    if not found:
        fs.append((field, 2, edit(b'')))
    return encode_fields(fs)


def set_piece_type(model, ids, piece_type):
    fs = fields(model)
    n = -1
    for k, (f, w, p) in enumerate(fs):
        if f == 1:
            n += 1
            if n in ids:
                fs[k] = (f, w, set_field(p, 3, 0, varint(piece_type)))
    return encode_fields(fs)


# --- models ---------------------------------------------------------------------------------------

def corpus():
    r = random.Random(20240611)
    syllables = ['ka', 'to', 'mi', 'ra', 'ne', 'so', 'lu', 'pe', 'di', 'gor', 'an', 'the', 'ing', 'ion', 'qu',
                 'st', 'ph', 'ch', 'er', 'é', 'ö', 'ñ', 'ß', 'ø', 'ка', 'мо', '東', '京', 'の', 'ア']
    words = [''.join(r.choice(syllables) for _ in range(r.randint(1, 4))) for _ in range(600)]
    words += ['a', 'photo', 'of', 'cat', 'dog', 'the', 'and', 'painting', 'style', 'red', 'blue', '2024', '42']
    lines = []
    for _ in range(4000):
        line = ' '.join(r.choice(words) for _ in range(r.randint(3, 16)))
        lines.append(line + r.choice(['.', ',', '!', '?', '', '', ' (x)', ': y']))
    return lines


def train(**options):
    out = io.BytesIO()
    spm.SentencePieceTrainer.train(sentence_iterator=iter(corpus()), model_writer=out, model_type='unigram',
                                   num_threads=1, minloglevel=2, hard_vocab_limit=False, **options)
    return out.getvalue()


def make_models(tmp_rules):
    models = {}
    # T5's setting: nmt_nfkc, <pad>=0 </s>=1 <unk>=2, no BOS; plus two user-defined pieces.
    models['spm-nmt.model'] = train(vocab_size=700, normalization_rule_name='nmt_nfkc', pad_id=0, eos_id=1,
                                    unk_id=2, bos_id=-1, user_defined_symbols=['<extra_id_0>', '<extra_id_1>'])
    # Custom rule set (multi-character source, deletion), byte fallback, user-defined pieces.
    with open(tmp_rules, 'w') as f:
        f.write('9\t20\n'        # tab -> space
                'FB01\t66 69\n'  # fi ligature -> "fi"
                'FF21\t41\n'     # fullwidth A -> A
                '41 42\t78\n'    # "AB" -> "x": longest match across characters
                '200B\t20\n'     # zero width space -> space
                'E9\t65 301\n')  # e acute -> e + combining acute
    models['spm-rules-bytes.model'] = train(vocab_size=600, normalization_rule_tsv=tmp_rules, byte_fallback=True,
                                            user_defined_symbols=['<sep>', 'qu', 'ka'], control_symbols=['<ctl>'])
    # Identity normalisation without dummy prefix and without whitespace clean-up.
    models['spm-identity.model'] = train(vocab_size=400, normalization_rule_name='identity', add_dummy_prefix=False,
                                         remove_extra_whitespaces=False)
    # treat_whitespace_as_suffix, then edited: escape_whitespaces off (no trainer allows it for
    # unigram) and a few NORMAL pieces made UNUSED.
    suffix = train(vocab_size=400, normalization_rule_name='identity', treat_whitespace_as_suffix=True)
    sp = spm.SentencePieceProcessor(model_proto=suffix)
    unused = [i for i in range(sp.get_piece_size()) if sp.id_to_piece(i) in ('ka', 'to', 'ra', 'the')]
    suffix = set_piece_type(suffix, unused, 5)
    suffix = edit_submessage(suffix, 3, lambda ns: set_field(ns, 5, 0, varint(0)))
    models['spm-suffix-noescape.model'] = suffix
    return models


# --- cases ----------------------------------------------------------------------------------------

FIXED = [
    '', ' ', '   ', '\t', 'a', 'hello world', 'a photo of a cat', 'Hello, World!',
    '  leading and trailing  ', 'multiple     spaces', 'tabs\tand\nnewlines\r\n', 'unknownwordxyzqjvw',
    'punctuation: ;:!?()[]{}<>@#$%^&*-_=+/\\|~`\'"', 'numbers 1234567890 3.14159 -42',
    'café naïve Ångström façade', 'e\u0301', 'ﬁ ﬂ ﬃ', 'ＦＵＬＬ ｗｉｄｔｈ ＡB AB', '①②③ ½ ㎏ ℃',
    '東京タワー', 'Москва', 'مرحبا', '한국어', '가', '😀😃👍🏽', '👨\u200d👩\u200d👧', 'a\u200bb zero width',
    '\u00a0nbsp\u00a0', '\u3000ideographic\u3000space', 'control\x01\x02\x7f\x1b', 'a\x00b nul', 'a\u2028b\u0085c',
    '<extra_id_0>', 'x<extra_id_1>y', '<sep>qu<sep>ka', 'quka', '<ctl>', '<unk>', '<s></s>', '▁', '▁▁a ▁',
    'katomi rane sogor', 'The Quick Brown Fox', 'ß ẞ ŉ ǅ', '\ufeffbom', '\U0010fffd\U000e0001',
    'x' * 40, 'ab' * 30,
]
BAD_UTF8 = [b'\xff', b'abc\xc3', b'\xed\xa0\x80', b'\xf4\x90\x80\x80', b'\xc0\xaf', b'\xef\xbf\xbd', b'a\x80\x80b',
            b'\xe2\x96', b' \xf0\x9f\x98 x']
POOL = (list('abcdefghijklmnopqrstuvwxyzABCXYZ0123456789') + [' '] * 12 + ['\t', '\n', '.', ',', '!', '-', "'"] +
        ['é', 'ö', 'ñ', 'ß', 'Å', '\u0301', '\u0308', 'ﬁ', 'Ａ', '１', '\u00a0', '\u3000', '\u200b', '\u200d',
         '東', '京', 'の', 'ア', 'ｱ', 'к', 'а', 'ل', '한', '😀', '🏽', '①', '½', '\x01', '\x7f', '▁', '<', '>'])


def long_text():
    r = random.Random(7)
    words = ['a', 'photo', 'of', 'cat', 'painting', 'in', 'the', 'style', 'katomi', 'gorane', 'unbelievable',
             'café', '東京', '😀', 'ＡＢＣ', '42', 'x-ray,', 'Hello!']
    out = []
    while sum(len(w) + 1 for w in out) < 2500:
        out.append(r.choice(words))
    return ' '.join(out)


def random_texts(seed, n):
    r = random.Random(seed)
    return [''.join(r.choice(POOL) for _ in range(r.randint(1, 24))) for _ in range(n)]


def hexs(b):
    return b.hex() if b else '-'


def cases_for(name, proto, long_input):
    sp = spm.SentencePieceProcessor(model_proto=proto)
    lines = ['model ' + name,
             'special %d %d %d %d %d' % (sp.unk_id(), sp.bos_id(), sp.eos_id(), sp.pad_id(), sp.get_piece_size())]
    n = sp.get_piece_size()
    for i in sorted({0, 1, 2, 3, 4, 5, n // 2, n - 1}):
        lines.append('piece %d %s' % (i, hexs(sp.id_to_piece(i).encode())))
    for s in ['▁the', 'no such piece', '<pad>', '</s>', '<s>', '<0x41>', 'qu']:
        lines.append('lookup %s %d' % (hexs(s.encode()), sp.piece_to_id(s)))
    texts = [t.encode() for t in FIXED] + BAD_UTF8 + [t.encode() for t in random_texts(zlib.crc32(name.encode()), 40)]
    if long_input:
        texts.append(long_text().encode())
    for t in texts:
        ids = sp.encode(t)
        lines.append('case %s %s' % (hexs(t), ' '.join(map(str, ids))))
    return lines


# --- fuzz seeds -----------------------------------------------------------------------------------

def broken_models(small):
    fs = fields(small)
    pieces = [x for x in fs if x[0] == 1]
    rest = [x for x in fs if x[0] != 1]
    seeds = {}
    seeds['bad-truncated.model'] = small[:len(small) // 2]
    seeds['bad-varint.model'] = b'\x0a' + b'\xff' * 11
    seeds['bad-length.model'] = b'\x0a\x7f\x0a\x01a'
    seeds['bad-wire-type.model'] = b'\x0f' + small
    seeds['bad-group-end.model'] = b'\x0c' + small
    seeds['group-skipped.model'] = b'\x33\x08\x01\x3b\x0a\x00\x3c\x34' + small  # field 6 group holding field 7
    seeds['bad-duplicate.model'] = encode_fields(pieces + [pieces[5]] + rest)
    seeds['bad-no-unk.model'] = set_piece_type(small, [0], 1)
    seeds['bad-two-unk.model'] = set_piece_type(small, [0, 7], 2)
    seeds['bad-empty-piece.model'] = encode_fields(pieces + [(1, 2, b'')] + rest)
    seeds['bad-byte-piece.model'] = encode_fields(pieces + [(1, 2, b'\x0a\x06<0x41>\x18\x06')] + rest)
    seeds['bad-bpe.model'] = edit_submessage(small, 2, lambda ts: set_field(ts, 3, 0, varint(2)))
    seeds['bad-charsmap.model'] = edit_submessage(small, 3, lambda ns: set_field(ns, 2, 2, b'\xff\xff\x00\x00ab'))
    seeds['charsmap-garbage.model'] = edit_submessage(
        small, 3, lambda ns: set_field(ns, 2, 2, b'\x10\x00\x00\x00' + bytes(range(7, 23)) + b'xyz\x00q'))
    seeds['unknown-fields.model'] = encode_fields([(99, 0, varint(5)), (100, 1, b'12345678'), (101, 5, b'abcd')] + fs)
    seeds['negative-ids.model'] = edit_submessage(small, 2, lambda ts: set_field(ts, 41, 0, varint(-1)))
    return seeds


def rename_unk_piece(model):
    """model with trainer_spec.unk_piece naming its first normal piece: sentencepiece then reports
    unk_id() −1 while still encoding unknown text with the UNKNOWN piece."""
    for f, w, p in fields(model):
        if f == 1 and all(pf != 3 or read_varint(pp, 0)[0] == 1 for pf, _, pp in fields(p)):
            name = next(pp for pf, _, pp in fields(p) if pf == 1)
            return edit_submessage(model, 2, lambda ts: set_field(ts, 45, 2, name))
    raise ValueError('no normal piece')


def main():
    os.makedirs(DATA, exist_ok=True)
    os.makedirs(SEEDS, exist_ok=True)
    models = make_models(os.path.join(DATA, '.rules.tsv'))
    models['spm-unk-renamed.model'] = rename_unk_piece(models['spm-identity.model'])
    os.remove(os.path.join(DATA, '.rules.tsv'))
    for name, proto in models.items():
        with open(os.path.join(DATA, name), 'wb') as f:
            f.write(proto)

    out = ['# Generated by tools/make-tokenizer-fixture.py with python3-sentencepiece %s; do not edit.'
           % spm.__version__,
           '# Expected SentencePieceProcessor(model_proto).encode(text) ids (no BOS/EOS); format in the script.']
    with open(GOLDEN_MODEL, 'rb') as f:
        out += cases_for('golden/sentencepiece_test_model.model', f.read(), True)
    for name, proto in models.items():
        out += cases_for(name, proto, name == 'spm-nmt.model')
    with open(os.path.join(DATA, 'sentencepiece-cases.txt'), 'w', encoding='utf-8') as f:
        f.write('\n'.join(out) + '\n')

    seeds = {'rules-bytes.model': models['spm-rules-bytes.model'],
             'identity.model': models['spm-identity.model'],
             'suffix-noescape.model': models['spm-suffix-noescape.model'],
             'unk-renamed.model': models['spm-unk-renamed.model']}
    seeds.update(broken_models(models['spm-identity.model']))
    for name, data in seeds.items():
        with open(os.path.join(SEEDS, name), 'wb') as f:
            f.write(data)
    print('wrote %d models, %d case lines, %d seeds' % (len(models), len(out), len(seeds)), file=sys.stderr)


if __name__ == '__main__':
    main()
