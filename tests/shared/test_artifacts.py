import pytest

from shared.artifacts import atomic_dir, checksum_tree, verify_checksums
from shared.errors import UserError
from shared.text import normalize_problem, problem_hash


def test_atomic_dir_leaves_nothing_on_failure(tmp_path):
    final = tmp_path / "art"
    with pytest.raises(RuntimeError):
        with atomic_dir(final) as tmp:
            (tmp / "a.txt").write_text("x")
            raise RuntimeError("boom")
    assert not final.exists() and list(tmp_path.iterdir()) == []


def test_atomic_dir_and_checksums(tmp_path):
    final = tmp_path / "art"
    with atomic_dir(final) as tmp:
        (tmp / "a.txt").write_text("x")
        (tmp / "sub").mkdir()
        (tmp / "sub" / "b.txt").write_text("y")
        (tmp / "logs" / "run").mkdir(parents=True)  # training logs (wall-clock times) are not the artifact's content
        (tmp / "logs" / "run" / "events").write_text("t=1")
        (tmp / "sub" / "logs").mkdir()  # only the top-level logs/ is left out
        (tmp / "sub" / "logs" / "c.txt").write_text("z")
    sums = checksum_tree(final)
    assert set(sums) == {"a.txt", "sub/b.txt", "sub/logs/c.txt"}
    (final / "logs" / "run" / "events").write_text("t=2")
    assert checksum_tree(final) == sums
    assert verify_checksums(final, sums) == []
    (final / "a.txt").write_text("changed")
    assert verify_checksums(final, sums) == ["a.txt"]
    with pytest.raises(UserError, match="already exists"):
        with atomic_dir(final):
            pass


def test_problem_normalisation():
    assert normalize_problem("  Ann  HAS\n3 apples ") == "ann has 3 apples"
    assert problem_hash("Ann has 3") == problem_hash("ann   has 3")
    assert problem_hash("Ann has 3") != problem_hash("Ann has 4")


def test_problem_normalisation_collapses_every_unicode_whitespace_as_the_regex_did():
    """Hashes are stored in data manifests and exclusion sets: the split-based form must equal the old regex form."""
    import random
    import re
    import unicodedata

    spaces = [chr(c) for c in range(0x110000) if re.fullmatch(r"\s", chr(c))]
    assert spaces == [chr(c) for c in range(0x110000) if chr(c).isspace()]
    rng = random.Random(0)
    alphabet = spaces + list("aB 3\u00e9\u200b\ufb01")  # letters, a zero-width space (not whitespace), a ligature
    for _ in range(20_000):
        text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 10)))
        regex_form = re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()
        assert normalize_problem(text) == regex_form, repr(text)


def test_manifests_declare_every_field():
    """A manifest is a contract: an undeclared key is refused, not carried along and read back by getattr."""
    import pydantic

    from shared.manifests import ConvertedModelManifest, DataManifest, PolicyManifest, RetrieverManifest

    for model in (RetrieverManifest, DataManifest, ConvertedModelManifest, PolicyManifest):
        assert model.model_config["extra"] == "forbid", model.__name__
    with pytest.raises(pydantic.ValidationError, match="extra"):
        RetrieverManifest(name="v0", encoder_path="encoder", dim=4, num_demonstrations=1, bank_checksum="x", surprise=1)
