"""The learned second reader: per theme, a logistic regression over hashed word and character n-grams.

Features: scikit-learn's ``HashingVectorizer`` (stateless: the same text gives the same columns in any
process) of word 1-2-grams and of character 3-5-grams within word boundaries, each weighted by the
training texts' inverse document frequency (smoothed, sublinear term frequency) and L2-normalised.
Each theme's model is a seeded L2 logistic regression (liblinear, balanced class weights) over those
features, trained on the examples labelled for that theme (an example may be labelled for some themes
only: a study's review decision says something about one theme).

Saved as a ZIP of ``meta.json`` and ``.npy`` arrays read with ``allow_pickle=False`` (nothing in the
file is executed; member sizes are checked before reading), with fixed timestamps, so the same
training gives the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from scipy import sparse

from sibkit.errors import SibkitError
from sibkit.secondreader.counting import READER_MODEL

FORMAT = "sibkit-second-reader"
FORMAT_VERSION = 1
N_FEATURES = 2**20
MAX_MEMBER_BYTES = 64 * 2**20  # a reader file holds a few MB; refuse anything far larger
#: feature families: name -> HashingVectorizer settings (besides n_features, alternate_sign, norm)
FEATURE_SETS: dict[str, list[dict[str, Any]]] = {
    "words": [{"analyzer": "word", "ngram_range": (1, 2), "lowercase": True}],
    "chars": [{"analyzer": "char_wb", "ngram_range": (3, 5), "lowercase": True}],
    "words+chars": [{"analyzer": "word", "ngram_range": (1, 2), "lowercase": True},
                    {"analyzer": "char_wb", "ngram_range": (3, 5), "lowercase": True}],
}
DEFAULT_FEATURES = "words+chars"
DEFAULT_C = 4.0
UNLABELLED = -1


def _vectorizers(features: str, n_features: int) -> list[Any]:
    from sklearn.feature_extraction.text import HashingVectorizer

    if features not in FEATURE_SETS:
        raise SibkitError(f"features {features!r}: expected one of {', '.join(FEATURE_SETS)}")
    return [HashingVectorizer(n_features=n_features, alternate_sign=False, norm=None, dtype=np.float32, **settings)
            for settings in FEATURE_SETS[features]]


def _counts(vectorizers: list[Any], texts: Sequence[str]) -> sparse.csr_matrix:
    """Summed hashed counts of every feature family (one sparse row per text)."""
    matrix = vectorizers[0].transform(texts)
    for vectorizer in vectorizers[1:]:
        matrix = matrix + vectorizer.transform(texts)
    matrix = sparse.csr_matrix(matrix, dtype=np.float32)
    matrix.sum_duplicates()
    return matrix


def _weighted(counts: sparse.csr_matrix, idf: np.ndarray) -> sparse.csr_matrix:
    """Sublinear tf x idf, rows L2-normalised."""
    matrix = counts.copy()
    np.log1p(matrix.data, out=matrix.data)
    matrix.data *= idf[matrix.indices]
    norms = np.sqrt(np.asarray(matrix.multiply(matrix).sum(axis=1)).ravel())
    norms[norms == 0] = 1
    return sparse.csr_matrix(sparse.diags(1 / norms).dot(matrix), dtype=np.float32)


def text_digest(text: str) -> str:
    return hashlib.sha256(" ".join(text.split()).encode("utf-8")).hexdigest()


@dataclass
class LearnedReader:
    """A trained second reader: one probability per theme for each text it reads.

    ``propose_at``: a sentence with no keyword hit of a theme scoring at least this is proposed for it;
    ``flag_below``: a keyword hit whose sentence scores below this for its theme is flagged as another
    sense. Both were chosen by cross-validation when it was trained (``meta["thresholds"]``).
    """

    themes: list[str]
    weights: sparse.csr_matrix  # (2 x themes) x features: the proposing heads, then the sense heads
    intercepts: np.ndarray  # one per row of weights
    idf: np.ndarray  # one per feature (float32)
    features: str = DEFAULT_FEATURES
    n_features: int = N_FEATURES
    propose_at: float = 0.5
    flag_below: float = 0.2
    meta: dict[str, Any] = field(default_factory=dict)
    examples: list[dict[str, Any]] = field(default_factory=list)  # what it was trained on (text, labels, source)
    _vectorizers: list[Any] | None = field(default=None, repr=False, compare=False)

    def _matrix(self, texts: Sequence[str]) -> sparse.csr_matrix:
        if self._vectorizers is None:
            self._vectorizers = _vectorizers(self.features, self.n_features)
        return _weighted(_counts(self._vectorizers, list(texts)), self.idf)

    def _probabilities(self, matrix: sparse.csr_matrix, rows: slice) -> np.ndarray:
        logits = np.asarray((matrix @ self.weights[rows].T).todense(), dtype=np.float64) + self.intercepts[rows]
        return 1 / (1 + np.exp(-logits))

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """texts x themes: the probability that each text expresses each theme (the proposing head)."""
        if not len(texts):
            return np.zeros((0, len(self.themes)))
        return self._probabilities(self._matrix(texts), slice(0, len(self.themes)))

    def both(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        """(proposing, sense) scores, texts x themes; the sense head, where a theme has one, was trained
        only on texts its keywords found, so it tells a keyword's senses apart; elsewhere it is the
        proposing head."""
        if not len(texts):
            empty = np.zeros((0, len(self.themes)))
            return empty, empty
        matrix = self._matrix(texts)
        count = len(self.themes)
        propose = self._probabilities(matrix, slice(0, count))
        sense = self._probabilities(matrix, slice(count, 2 * count))
        own = np.array([bool(v) for v in self.meta.get("sense_heads", [False] * count)])
        return propose, np.where(own[None, :], sense, propose)

    def theme_index(self, theme: str) -> int | None:
        return self.themes.index(theme) if theme in self.themes else None

    @property
    def name(self) -> str:
        """How suggestions and the report name this reader."""
        trained = self.meta.get("codebook", "")
        return f"{READER_MODEL} ({trained})" if trained else READER_MODEL

    @property
    def version(self) -> str:
        return str(self.meta.get("digest", ""))[:12]

    # -- file ---------------------------------------------------------------------------------

    def _arrays(self) -> dict[str, np.ndarray]:
        weights = self.weights.tocsr()
        weights.sort_indices()
        seen = np.flatnonzero(self.idf != self.idf_default)
        return {"weights_data": weights.data.astype(np.float32), "weights_indices": weights.indices.astype(np.int32),
                "weights_indptr": weights.indptr.astype(np.int64), "intercepts": self.intercepts.astype(np.float64),
                "idf_indices": seen.astype(np.int32), "idf_values": self.idf[seen].astype(np.float32)}

    @property
    def idf_default(self) -> np.float32:
        """The idf of a feature no training text had (the most common value)."""
        return np.float32(self.meta.get("idf_default", 1.0))

    def to_bytes(self) -> bytes:
        arrays = self._arrays()
        meta = {**self.meta, "format": FORMAT, "format_version": FORMAT_VERSION, "themes": self.themes,
                "features": self.features, "n_features": self.n_features, "propose_at": self.propose_at,
                "flag_below": self.flag_below}
        meta.pop("digest", None)
        body = io.BytesIO()
        with zipfile.ZipFile(body, "w", compression=zipfile.ZIP_DEFLATED) as archive:
            archive.writestr(zipfile.ZipInfo("meta.json", date_time=(1980, 1, 1, 0, 0, 0)),
                             json.dumps(meta, sort_keys=True, indent=1), compress_type=zipfile.ZIP_DEFLATED)
            archive.writestr(zipfile.ZipInfo("examples.json", date_time=(1980, 1, 1, 0, 0, 0)),
                             json.dumps(self.examples, sort_keys=True, ensure_ascii=False),
                             compress_type=zipfile.ZIP_DEFLATED)
            for name, array in arrays.items():
                buffer = io.BytesIO()
                np.lib.format.write_array(buffer, np.ascontiguousarray(array), allow_pickle=False)
                archive.writestr(zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0)), buffer.getvalue(),
                                 compress_type=zipfile.ZIP_DEFLATED)
        return body.getvalue()

    def save(self, path: Path) -> Path:
        data = self.to_bytes()
        path.parent.mkdir(parents=True, exist_ok=True)
        partial = path.with_name(path.name + ".partial")
        partial.write_bytes(data)
        partial.replace(path)
        return path

    @classmethod
    def from_bytes(cls, data: bytes, source: str = "reader file") -> LearnedReader:
        try:
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                members = {info.filename: info for info in archive.infolist()}
                for info in members.values():
                    if info.file_size > MAX_MEMBER_BYTES:
                        raise SibkitError(f"{source}: member {info.filename} is too large ({info.file_size} bytes)")
                if "meta.json" not in members:
                    raise SibkitError(f"{source}: not a sibkit reader file (no meta.json)")
                meta = json.loads(archive.read("meta.json").decode("utf-8"))
                examples = json.loads(archive.read("examples.json").decode("utf-8")) \
                    if "examples.json" in members else []
                if meta.get("format") != FORMAT or meta.get("format_version") != FORMAT_VERSION:
                    raise SibkitError(f"{source}: not a sibkit reader file of format version {FORMAT_VERSION}")
                arrays = {}
                for name in ("weights_data", "weights_indices", "weights_indptr", "intercepts", "idf_indices",
                             "idf_values"):
                    with archive.open(f"{name}.npy") as member:
                        arrays[name] = np.lib.format.read_array(io.BytesIO(member.read()), allow_pickle=False)
        except (zipfile.BadZipFile, KeyError, ValueError, TypeError, UnicodeDecodeError) as exc:
            raise SibkitError(f"{source}: cannot read the reader file ({exc})") from None
        try:
            themes = [str(t) for t in meta["themes"]]
            n_features = int(meta["n_features"])
            if not 0 < n_features <= 2**24:
                raise ValueError(f"n_features {n_features} is out of range")
            weights = sparse.csr_matrix((arrays["weights_data"], arrays["weights_indices"], arrays["weights_indptr"]),
                                        shape=(2 * len(themes), n_features))
            idf = np.full(n_features, np.float32(meta.get("idf_default", 1.0)), dtype=np.float32)
            idf[arrays["idf_indices"]] = arrays["idf_values"]
            settings = (str(meta["features"]), float(meta["propose_at"]), float(meta["flag_below"]))
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            raise SibkitError(f"{source}: the reader file's contents do not fit together ({exc!r})") from None
        if len(arrays["intercepts"]) != 2 * len(themes):
            raise SibkitError(f"{source}: {len(arrays['intercepts'])} intercepts for {len(themes)} themes")
        meta["digest"] = hashlib.sha256(data).hexdigest()
        return cls(themes=themes, weights=weights, intercepts=arrays["intercepts"].astype(np.float64), idf=idf,
                   features=settings[0], n_features=n_features, propose_at=settings[1], flag_below=settings[2],
                   meta=meta,                   examples=examples if isinstance(examples, list) else [])

    @classmethod
    def load(cls, path: Path) -> LearnedReader:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            raise SibkitError(f"{path}: no such reader file") from None
        except OSError as exc:
            raise SibkitError(f"{path}: cannot read ({exc.strerror})") from None
        return cls.from_bytes(data, str(path))


MIN_SENSE_EXAMPLES = 3  # of each class among a theme's keyword hits, before it gets a sense head of its own


def _logistic(matrix: sparse.csr_matrix, target: np.ndarray, used: np.ndarray, n_features: int, *, c: float,
              seed: int) -> tuple[sparse.csr_matrix, float]:
    """One theme's weights (1 x n_features) and intercept; a constant model when a class is missing."""
    positives = int(target.sum())
    if positives == 0 or positives == len(target):
        share = (positives + 0.5) / (len(target) + 1)
        return sparse.csr_matrix((1, n_features), dtype=np.float32), float(np.log(share / (1 - share)))
    from sklearn.linear_model import LogisticRegression

    model = LogisticRegression(C=c, solver="liblinear", class_weight="balanced", max_iter=1000, random_state=seed)
    model.fit(matrix, target)
    coefficients = model.coef_.ravel().astype(np.float32)
    keep = np.abs(coefficients) >= 1e-6
    row = sparse.csr_matrix((coefficients[keep], (np.zeros(int(keep.sum()), dtype=np.int64), used[keep])),
                            shape=(1, n_features), dtype=np.float32)
    return row, float(model.intercept_[0])


def fit(texts: Sequence[str], labels: np.ndarray, themes: Sequence[str], *, seed: int,
        fired: np.ndarray | None = None, features: str = DEFAULT_FEATURES, c: float = DEFAULT_C,
        n_features: int = N_FEATURES, meta: dict[str, Any] | None = None) -> LearnedReader:
    """Train two logistic regressions per theme. ``labels``: texts x themes of 1 (expresses it),
    0 (does not) or -1 (not labelled for that theme); ``fired``: texts x themes, whether the
    codebook's keywords found the theme there. The proposing head learns from every labelled text,
    the sense head from the labelled texts the keywords found (when there are ``MIN_SENSE_EXAMPLES``
    of each class). A head with no positive or no negative example is a constant."""
    labels = np.asarray(labels, dtype=np.int8)
    fired = np.zeros(labels.shape, dtype=bool) if fired is None else np.asarray(fired, dtype=bool)
    vectorizers = _vectorizers(features, n_features)
    counts = _counts(vectorizers, list(texts))
    documents = len(texts)
    frequency = np.bincount(counts.indices, minlength=n_features).astype(np.float64)
    idf = (np.log((1 + documents) / (1 + frequency)) + 1).astype(np.float32)
    idf_default = float(np.float32(np.log(1 + documents) + 1))
    matrix = _weighted(counts, idf)
    used = np.unique(matrix.indices)  # liblinear is ten times faster on the columns the texts use
    compact = matrix[:, used]
    propose_rows, sense_rows, propose_b, sense_b, heads = [], [], [], [], []
    for column in range(len(themes)):
        known = labels[:, column] != UNLABELLED
        row, intercept = _logistic(compact[known], labels[known, column], used, n_features, c=c, seed=seed)
        propose_rows.append(row)
        propose_b.append(intercept)
        hits = known & fired[:, column]
        target = labels[hits, column]
        if int(target.sum()) >= MIN_SENSE_EXAMPLES and int((1 - target).sum()) >= MIN_SENSE_EXAMPLES:
            row, intercept = _logistic(compact[hits], target, used, n_features, c=c, seed=seed)
            heads.append(True)
        else:
            heads.append(False)
        sense_rows.append(row)
        sense_b.append(intercept)
    weights = sparse.vstack(propose_rows + sense_rows, format="csr", dtype=np.float32)
    weights.eliminate_zeros()
    import sklearn

    info = {"seed": seed, "C": c, "sklearn": sklearn.__version__, "examples": documents,
            "idf_default": idf_default, "sense_heads": heads, **(meta or {})}
    return LearnedReader(themes=list(themes), weights=weights, intercepts=np.array(propose_b + sense_b), idf=idf,
                         features=features, n_features=n_features, meta=info)
