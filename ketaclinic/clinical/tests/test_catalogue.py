"""The rule catalogue: every rule cited, every instrument registered, and docs/clinical-rules.md in step with code."""

from __future__ import annotations

import json
import re

import pytest

from ketaclinic.clinical import SOURCES, ClinicPolicy, Evidence, catalogue
from ketaclinic.clinical.__main__ import main
from ketaclinic.clinical.catalogue_doc import DOCS_PATH, _source_order, render_catalogue_text, render_markdown
from ketaclinic.clinical.instruments import INSTRUMENTS
from ketaclinic.clinical.rules import rule
from ketaclinic.clinical.sources import Source
from ketaclinic.clinical.tests.conftest import VECTORS_FILE


def _rule_ids() -> set[str]:
    return {r.id for r in catalogue()}


def test_it_cites_at_least_one_source_for_every_rule() -> None:
    rules = catalogue()
    assert rules
    assert all(r.citations and r.area and r.title and r.statement for r in rules)
    text = render_markdown()
    for citation in (c for r in rules for c in r.citations):
        assert f"| {citation.source.id} | {citation.source.title} |" in text


def test_it_registers_every_reference_instrument() -> None:
    ids = _rule_ids()
    for instrument_id in json.loads(VECTORS_FILE.read_text(encoding="utf-8"))["instruments"]:
        assert f"{instrument_id}.scoring" in ids
        assert f"{instrument_id}.licence" in ids


@pytest.mark.parametrize("instrument", INSTRUMENTS.values(), ids=lambda i: i.id)
def test_it_registers_every_band_subscore_and_flag(instrument) -> None:
    ids = _rule_ids()
    if instrument.bands or instrument.tiers:
        assert f"{instrument.id}.bands" in ids
    if instrument.subscales:
        assert f"{instrument.id}.subscores" in ids
    for flag in instrument.flags:
        assert f"{instrument.id}.flag.{flag.name}" in ids


def test_it_registers_the_outcome_definitions() -> None:
    ids = _rule_ids()
    expected = {
        "outcomes.percent_change",
        "outcomes.response",
        "outcomes.partial_response",
        "outcomes.mcid.phq9",
        "outcomes.rapid_response",
        "outcomes.loss_of_response",
        "outcomes.relapse",
        "outcomes.primary.depression",
        "outcomes.primary.anxiety",
        "outcomes.primary.none",
    } | {f"outcomes.remission.{i}" for i in ("madrs", "phq9", "qids_sr16", "hamd17", "gad7")}
    assert expected <= ids


def test_it_marks_unverified_rules_as_best_knowledge() -> None:
    evidence = {r.id: r.evidence for r in catalogue()}
    assert evidence["outcomes.relapse"] is Evidence.BEST_KNOWLEDGE
    assert evidence["cadss.subscores"] is Evidence.BEST_KNOWLEDGE
    assert evidence["hamd17.scoring"] is Evidence.BEST_KNOWLEDGE
    assert evidence["moaas.flag.sedation"] is Evidence.BEST_KNOWLEDGE
    assert evidence["phq9.scoring"] is Evidence.PUBLISHED


def test_it_states_the_qids_max_of_domain_rule() -> None:
    statement = next(r.statement for r in catalogue() if r.id == "qids_sr16.scoring")
    assert "max(q1–q4) + q5 + max(q6–q9) + q10 + q11 + q12 + q13 + q14 + max(q15, q16)" in statement


def test_it_exposes_the_outcome_settings_with_ranges() -> None:
    settings = {s.name: s for s in ClinicPolicy.settings()}
    cutoff = settings["pcl5_provisional_cutoff"]
    assert (cutoff.default, cutoff.minimum, cutoff.maximum) == (33, 31, 38)
    partial = settings["partial_response_reduction_pct"]
    assert partial.default == 25 and partial.maximum < settings["response_reduction_pct"].default


def test_it_prints_every_rule_and_setting(capsys) -> None:
    assert main(["catalogue"]) == 0
    out = capsys.readouterr().out
    assert out == render_catalogue_text()
    for r in catalogue():
        assert f"[{r.area}] {r.id} — {r.title}" in out
    for s in ClinicPolicy.settings():
        assert f"{s.name} = {s.default:g} {s.unit}" in out


def test_it_renders_sources_settings_and_rules_into_the_docs() -> None:
    text = render_markdown()
    for source in SOURCES.values():
        assert f"| {source.id} |" in text and source.url in text
    for s in ClinicPolicy.settings():
        assert f"`{s.name}`" in text
    for r in catalogue():
        assert f"#### `{r.id}`" in text


def test_it_keeps_the_committed_docs_in_step_with_the_code() -> None:
    assert DOCS_PATH.read_text(encoding="utf-8") == render_markdown(), (
        "docs/clinical-rules.md is out of date; run: python -m ketaclinic.clinical docs"
    )


def test_it_writes_and_checks_the_docs(tmp_path, capsys) -> None:
    path = tmp_path / "docs" / "clinical-rules.md"
    assert main(["docs", "--check", "--path", str(path)]) == 1
    assert main(["docs", "--path", str(path)]) == 0
    assert path.read_text(encoding="utf-8") == render_markdown()
    assert main(["docs", "--check", "--path", str(path)]) == 0
    path.write_text("stale", encoding="utf-8")
    assert main(["docs", "--check", "--path", str(path)]) == 1
    captured = capsys.readouterr()
    assert "is out of date" in captured.err and "is up to date" in captured.out


def test_it_requires_a_command() -> None:
    with pytest.raises(SystemExit):
        main([])


def test_it_refuses_a_rule_without_a_citation() -> None:
    with pytest.raises(ValueError, match=re.escape("rule 'test.uncited' has no citation")):
        rule("test.uncited", area="test", title="t", statement="s", citations=())


def test_it_refuses_to_redefine_a_rule_id() -> None:
    existing = next(r for r in catalogue() if r.id == "phq9.scoring")
    with pytest.raises(ValueError, match=re.escape("rule id 'phq9.scoring' declared twice")):
        rule(existing.id, area=existing.area, title="x", statement="different", citations=existing.citations)


def test_it_lists_dossier_sources_in_number_order_before_others() -> None:
    sources = [Source("Zed", "z", "2000", "u"), SOURCES["R10"], Source("Ashby", "a", "2000", "u"), SOURCES["R2"]]
    assert [s.id for s in sorted(sources, key=_source_order)] == ["R2", "R10", "Ashby", "Zed"]
