"""The lesson "Why a VAE?" tells what the AE vs VAE protocol measured on the bundled models: each
step's figures re-derived from bench/results/smoothness.json, its words following each verdict,
and the view it opens showing the same figures, for both readers."""

import copy
import re

import pytest

from explorer import checkpoints, findings, lesson
from explorer.ui import ae_vs_vae
from tests.conftest import BUNDLED
from tests.pages_helpers import PAGES, _run

RESULTS = findings.load()


def _bundled(pair: str, comparison: str, key: str, reader: str = "none") -> dict:
    """The raw results' figures of the bundled models on the first set: ae, vae and diff."""
    shown = RESULTS[pair]["bundled"][comparison][key]
    return shown.get(reader) or shown["none"]


def _counts(pair: str, comparison: str, key: str) -> str:
    row = RESULTS[pair]["verdicts"][comparison][key]
    return (
        f"({row['verdict']}: VAE better in {row['vae_better']}, AE better in "
        f"{row['ae_better']}, of {row['combinations']} combinations)"
    )


def _in_order(text: str, parts: list[str]) -> None:
    """Each part appears in ``text``, after the one before it."""
    at = 0
    for part in parts:
        found = text.find(part, at)
        assert found >= 0, (part, text[at:])
        at = found + len(part)


def test_the_results_are_the_bundled_checkpoints():
    # Shipped results for other checkpoints would put other models' numbers in the lesson.
    assert RESULTS is not None
    names = [*RESULTS["checkpoints"]]
    assert {"ae", "vae", "ae2d", "vae2d", "classifier", "classifier_mlp"} <= set(names)
    shas = {name: checkpoints.file_sha256(BUNDLED / f"{name}.safetensors") for name in names}
    assert findings.current(RESULTS, shas)
    assert lesson.steps(RESULTS)[0].text != lesson.steps(None)[0].text  # the steps with figures


def test_each_step_quotes_the_results_figures_and_verdicts():
    steps = lesson.STEPS
    pct = lesson.pct
    far2, far16 = _bundled("2d", "prior", "far_share"), _bundled("16d", "prior", "far_share")
    _in_order(steps[0].text, [
        f"{pct(far2['ae'])} of N(0, I) samples land that far for the AE and {pct(far2['vae'])}",
        f"at d = 16, {pct(far16['ae'])} and {pct(far16['vae'])}",
        _counts("16d", "prior", "far_share"),
        _counts("2d", "prior", "far_share"),
    ])  # fmt: skip
    stroke = _bundled("16d", "prior", "no_stroke")
    kinds = _bundled("16d", "prior", "diversity", lesson.READER)
    read = _bundled("16d", "prior", "confident", lesson.READER)
    read_b = _bundled("16d", "prior", "confident", "classifier_mlp")
    fitted = _bundled("16d", "fitted", "confident", lesson.READER)
    _in_order(steps[1].text, [
        f"{pct(stroke['ae'])} of the AE's samples have no stroke at all",
        f"faint smears), {pct(stroke['vae'])} of the VAE's",
        _counts("16d", "prior", "no_stroke"),
        f"{kinds['vae']['value']:.2f} nats for the VAE and {kinds['ae']['value']:.2f} for the AE",
        _counts("16d", "prior", "diversity"),
        f"{pct(read['vae'])} of the VAE's samples as a digit and {pct(read['ae'])} of the AE's",
        f"Reader B {pct(read_b['vae'])} and {pct(read_b['ae'])}",
        _counts("16d", "prior", "confident"),
        f"read as a digit {pct(fitted['ae'])} of the time",
        _counts("16d", "fitted", "confident"),
    ])  # fmt: skip
    jump = _bundled("2d", "prior", "largest_jump")
    _in_order(steps[2].text, [
        f"{jump['vae']['value']:.3f} for the VAE and {jump['ae']['value']:.3f} for the AE",
        _counts("2d", "prior", "largest_jump"),
        _counts("16d", "prior", "largest_jump"),
    ])  # fmt: skip
    g2 = _bundled("2d", "prior", "garbage_share", lesson.READER)
    g16 = _bundled("16d", "prior", "garbage_share", lesson.READER)
    _in_order(steps[3].text, [
        f"{pct(g2['ae'])} of the AE's frames are garbage at d = 2 and {pct(g2['vae'])}",
        f"at d = 16, {pct(g16['ae'])} and {pct(g16['vae'])}",
        _counts("2d", "prior", "garbage_share"),
        _counts("16d", "prior", "garbage_share"),
    ])  # fmt: skip


@pytest.mark.parametrize(
    "verdict, words",
    [
        ("robust", "the VAE's are read as digits more often"),
        ("reversed", "the AE's are read as digits more often"),
        ("mixed", "how often a reader calls a sample a digit depends on the reader and the set"),
    ],
)
def test_a_steps_words_follow_the_verdict(verdict, words):
    changed = copy.deepcopy(RESULTS)
    changed["16d"]["verdicts"]["prior"]["confident"]["verdict"] = verdict
    text = lesson.steps(changed)[1].text
    assert f"{words} ({verdict}:" in text
    # A finding is told as the VAE's win only when it is robust.
    assert ("the VAE's are read as digits more often" in text) == (verdict == "robust")


def _page_text(at) -> str:
    return " ".join(m.value for m in [*at.markdown, *at.caption]).replace("\\", "")


def _open(index: int, reader: str, view: str, pair: str):
    """Lesson step ``index``'s link with ``reader`` chosen: the view and pair it names."""
    step = lesson.STEPS[index]
    at = _run(step.page.script, {**step.params, "reader": reader})
    assert at.session_state["cmp_view"] == view and at.session_state["cmp_pair"] == pair
    return at


@pytest.mark.slow
@pytest.mark.parametrize("reader", list(ae_vs_vae.READERS))
def test_the_sampling_step_opens_a_view_that_shows_its_figures(reader):
    # Step 2 quotes Reader A; the view it opens shows the same shares for whichever reader is
    # chosen, and the view's verdict on this set agrees with the results' difference.
    at = _open(1, reader, "samples", "16d")
    name = ae_vs_vae.READERS[reader]
    read = _bundled("16d", "prior", "confident", name)
    fitted = _bundled("16d", "fitted", "confident", name)
    captions = [c.value for c in at.caption if c.value.startswith("Read as a digit by")]
    assert len(captions) == 3
    for caption, figure in zip(captions, (read["ae"], read["vae"], fitted["ae"]), strict=True):
        shown = f"none of the {figure['n']:,}" if figure["high"] == 0 else findings.share(figure)
        assert f"**{shown}**" in caption, (caption, figure)
    words = {1: "**more often than**", -1: "**less often than**"}.get(
        read["diff"]["winner"], "**about as often as"
    )
    assert words in _page_text(at)


@pytest.mark.slow
@pytest.mark.parametrize("reader", list(ae_vs_vae.READERS))
def test_the_paths_step_opens_a_view_that_shows_its_figures(reader):
    # Step 3's largest jump needs no reader: the same means under either reader's view.
    at = _open(2, reader, "pairs", "2d")
    jump = _bundled("2d", "prior", "largest_jump")
    means = re.findall(r"Mean AE (\S+) \[[^]]+\], VAE (\S+) \[", _page_text(at))
    shown = {(float(ae), float(vae)) for ae, vae in means}
    assert any(
        abs(ae - jump["ae"]["value"]) < 5e-4 and abs(vae - jump["vae"]["value"]) < 5e-4
        for ae, vae in shown
    ), (shown, jump)


@pytest.mark.slow
def test_the_holes_step_opens_the_typical_pair_and_the_codes_step_the_coverage_overlay():
    holes = lesson.STEPS[3]
    at = _run(holes.page.script, holes.params)
    assert at.session_state["cmp_preset"] == "typical" and at.session_state["cmp_pair"] == "2d"
    assert at.session_state["cmp_selected"] is not None
    codes = lesson.STEPS[0]
    at = _run(codes.page.script, codes.params)
    assert at.session_state["cmp_view"] == "atlas"
    assert at.session_state["cmp_overlay"] == "coverage"
    assert at.session_state["cmp_window"] == "own"


def test_without_results_the_steps_keep_their_views_and_quote_nothing():
    plain = lesson.steps(None)
    assert [s.params for s in plain[:4]] == [s.params for s in lesson.steps(RESULTS)[:4]]
    assert not any("%" in s.text for s in plain[:4])


def test_lesson_pages_are_the_ae_vs_vae_page():
    assert {s.page.script for s in lesson.STEPS[:4]} == {PAGES["compare"]}


def _cells(row: str) -> list[str]:
    """A Markdown table row's cells (a pipe escaped as \\| stays inside its cell)."""
    return re.split(r"(?<!\\)\|", row.strip().strip("|"))


@pytest.mark.slow
@pytest.mark.parametrize("pair", ["2d", "16d"])
def test_the_findings_view_is_a_table_in_the_order_the_lesson_tells_it(pair):
    at = _run(PAGES["compare"], {"pair": pair})
    assert at.session_state["cmp_view"] == "findings"
    table = next(m.value for m in at.markdown if m.value.startswith("| verdict |"))
    rows = table.splitlines()
    assert all(len(_cells(row)) == 5 for row in rows), [r for r in rows if len(_cells(r)) != 5]
    body = rows[2:]
    expected = findings.findings(RESULTS, pair)
    assert len(body) == len(expected)
    # Robust first, then reversed, then mixed; within a verdict, both from N(0, I) first.
    verdicts = [_cells(row)[0].strip().strip("*") for row in body]
    assert verdicts == [f.verdict for f in expected]
    order = [findings.ORDER[v] for v in verdicts]
    assert order == sorted(order)
    for verdict in set(verdicts):
        fitted = [
            "fitted to its codes" in _cells(row)[1]
            for row, v in zip(body, verdicts, strict=True)
            if v == verdict
        ]
        assert fitted == sorted(fitted), (verdict, fitted)  # no fitted row before a prior one
