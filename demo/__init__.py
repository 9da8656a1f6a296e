"""Demo data for Quanyu: a fictional omni-channel coffee brand (鹿角咖啡) and its raw exports.

`python -m demo.generate --out var/demo --members 3000` writes landing files in the real formats
of WeCom, the official account, the mini-program, Tmall, JD, Douyin, store POS systems, the CRM
and vendors, plus the ground truth (out/truth) that identity resolution and metrics are tested
against. See demo/generate.py.
"""
