"""``atmp report`` and ``POST /report``: every example in both languages, in Markdown and HTML.

Each report must name the product's class (or exclusion), subclass, tier and every criterion met
by their ontology labels with their citations, cite the rules behind the deciding reasons, show no
raw code, and (HTML) parse, carry a print stylesheet and load nothing from outside.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser

import pytest
from atmp.analysis.report import card_digest, gather, render, rule_version
from atmp.analysis.sources import localise, source_text
from atmp.cli import main as atmp_main
from atmp.core.explain.words import render as in_words
from atmp.core.rules.ontology import load_model
from atmp.http.app import Settings, create_app
from fastapi.testclient import TestClient

from .conftest import FIXTURES, make_card, without_explanations

EXAMPLES = FIXTURES / "examples" / "cards.json"


@pytest.fixture(scope="module")
def model():
    return load_model()


@pytest.fixture(scope="module")
def gathered(model):
    cards = json.loads(EXAMPLES.read_text(encoding="utf-8"))
    return gather(cards, model=model, whatif_pairs=40)


def raw_codes(model) -> set[str]:
    """Codes a report must never show as such: result codes and card codes (those spelled like identifiers)."""
    codes = {rc.code for rc in model.result_classes if rc.code}
    for prop in model.properties:
        codes |= set(prop.codes)
    return {c for c in codes if "_" in c}


def expected_texts(model, data, lang: str) -> list[str]:
    """Labels and citations the report must contain for this product."""
    r = data.result
    by_code = {(rc.field, rc.code): rc for rc in model.result_classes if rc.code}
    by_number = {rc.number: rc for rc in model.result_classes if rc.number is not None}
    wanted = []
    for field, code in (
        ("exclusion", r["exclusion"]),
        ("nmpa.class", r["nmpa"]["class"]),
        ("nmpa.subclass", r["nmpa"]["subclass"]),
        ("tianjin.subcategory", r["tianjin"]["subcategory"]),
        ("tianjin.risk_tier", r["tianjin"]["risk_tier"]),
    ):
        if code is not None:
            rc = by_code[(field, code)]
            wanted += [rc.label[lang], source_text(model, rc.source, lang)]
    for n in r["tianjin"]["criteria"]:
        wanted += [by_number[n].label[lang], source_text(model, by_number[n].source, lang)]
    for entry in data.brief["explanation"]:  # the reasons quote their sources, written in the report's language
        wanted.append(source_text(model, entry["source"], lang))
        wanted += [source_text(model, b["source"], lang) for b in entry["because"] if b.get("source")]
    return wanted


class Page(HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags: list[str] = []
        self.urls: list[str] = []
        self.style = ""
        self._in_style = False

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._in_style = tag == "style"
        self.urls += [v for k, v in attrs if k in ("src", "href", "srcset", "action", "data") and v]

    def handle_data(self, data):
        if self._in_style:
            self.style += data

    def handle_endtag(self, tag):
        self._in_style = False


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_example_reports_its_conclusions_with_labels_and_citations(model, gathered, lang):
    codes = raw_codes(model)
    for data in gathered:
        text = render(data, lang, "md", model=model)
        missing = [w for w in expected_texts(model, data, lang) if w not in text]
        assert not missing, f"{data.card['id']} ({lang}): missing {missing[:5]}"
        shown = [c for c in codes if c in text]
        assert not shown, f"{data.card['id']} ({lang}): raw codes {shown}"
        assert data.digest in text and rule_version(model)["info"] in text
        for entry in data.brief["explanation"]:
            assert localise(model, in_words(model, entry)["text"][lang], lang) in text


def test_html_is_one_self_contained_printable_file(model, gathered):
    codes = raw_codes(model)
    for data in gathered:
        page = render(data, "both", "html", model=model)
        parser = Page()
        parser.feed(page)
        parser.close()
        assert parser.tags[0] == "html" and "table" in parser.tags and "h1" in parser.tags
        assert not {"script", "link", "img", "iframe"} & set(parser.tags)
        assert not [u for u in parser.urls if "//" in u], parser.urls
        assert "@media print" in parser.style and "url(" not in parser.style and "@import" not in parser.style
        assert not [c for c in codes if c in page]
        label = data.card.get("label", {})
        assert all(v in page for v in label.values())


def test_card_digest_is_canonical():
    card = make_card("digest")
    shuffled = json.loads(json.dumps(card, sort_keys=True))
    assert card_digest(card) == card_digest(dict(reversed(list(shuffled.items()))))
    assert card_digest(card) != card_digest(make_card("digest-2"))


def test_cli_batch_writes_one_file_per_product_and_an_index(tmp_path, capsys):
    cards = json.loads(EXAMPLES.read_text(encoding="utf-8"))[:3]
    path = tmp_path / "cards.json"
    path.write_text(json.dumps(cards), encoding="utf-8")
    out = tmp_path / "reports"
    assert atmp_main(["report", str(path), "--format", "html", "--lang", "en", "-o", str(out)]) == 0
    files = sorted(p.name for p in out.iterdir())
    assert files == sorted([f"{c['id']}.html" for c in cards] + ["index.html"])
    index = (out / "index.html").read_text(encoding="utf-8")
    assert all(f'href="{c["id"]}.html"' in index for c in cards)
    assert atmp_main(["report", str(path), "--id", cards[1]["id"], "--lang", "zh"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("# ") and cards[1]["label"]["zh"] in text


def test_cli_report_refuses_bad_input(tmp_path, capsys):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(make_card("bad", substance={"kind": "cell"})), encoding="utf-8")
    assert atmp_main(["report", str(path)]) == 2
    err = capsys.readouterr().err
    assert "substance.kind" in err and "Traceback" not in err
    assert not list(tmp_path.glob("*.md"))
    path.write_text(json.dumps([make_card("a"), make_card("b")]), encoding="utf-8")
    assert atmp_main(["report", str(path)]) == 2


@pytest.fixture(scope="module")
def client():
    with TestClient(create_app(Settings(max_batch=5, max_body_bytes=200_000, sparql_workers=1))) as c:
        yield c


def test_http_report_negotiates_and_refuses_bad_cards(client, gathered, model):
    card = json.loads(EXAMPLES.read_text(encoding="utf-8"))[0]
    md = client.post("/report?lang=en", json=card, headers={"accept": "text/markdown"})
    assert md.status_code == 200 and md.headers["content-type"].startswith("text/markdown")
    assert md.text == render(gathered[0], "en", "md", model=model)
    page = client.post("/report?format=html", json=card)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html") and page.text.startswith("<!DOCTYPE html>")
    bad = client.post("/report", json=make_card("bad", substance={"kind": "cell"}))
    assert bad.status_code == 422 and "kind" in json.dumps(bad.json()["detail"])
    assert client.post("/report?lang=fr", json=card).status_code == 422
    assert client.post("/report", json=[card] * 6).status_code == 413


def test_http_classify_explain_levels(client):
    card = json.loads(EXAMPLES.read_text(encoding="utf-8"))[0]
    full = client.post("/classify", json=card).json()
    none = client.post("/classify?explain=none", json=card).json()
    brief = client.post("/classify?explain=brief", json=card).json()
    assert none == without_explanations(full)
    assert [e["conclusion"] for e in brief["explanation"]] == [e["conclusion"] for e in full["explanation"]]
    assert client.post("/classify?explain=short", json=card).status_code == 422


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_the_report_shows_the_other_regimes_and_every_disagreement(model, gathered, lang: str) -> None:
    """Issue 17: the report carries the EU/US/JP conclusions, labelled from the ontology, and the crosswalk."""
    for data in gathered:
        result = data.result
        if not result.get("crosswalk"):
            continue
        text = render(data, lang, "md", model=model)
        for entry in result["crosswalk"]:
            assert entry["summary"][lang] in text
        us = next(rc for rc in model.result_classes if rc.field == "us.pathway" and rc.code == result["us"]["pathway"])
        assert us.label[lang] in text and "351_bla" not in text and "361_hct_p" not in text
        return
    pytest.fail("no example has a crosswalk disagreement")


# -- issue 34, item 5: text is text in both formats; the pages allow no script they do not need -----------------
HOSTILE = {"en": "<script>alert(1)</script> [click](javascript:alert(2)) <svg onload=alert(3)>", "zh": "<img src=x onerror=alert(4)> | 表格"}
RAW_TAGS = ("<script", "<img", "<svg")


def _hostile_card() -> dict:
    return {**make_card("hostile"), "label": HOSTILE}


def test_a_hostile_label_is_text_in_markdown_and_html(client, tmp_path, capsys):
    from markdown_it import MarkdownIt

    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(_hostile_card()), encoding="utf-8")
    documents = {}
    for fmt in ("md", "html"):
        assert atmp_main(["report", str(path), "--format", fmt]) == 0
        documents[f"cli {fmt}"] = capsys.readouterr().out
        r = client.post(f"/report?format={fmt}", json=_hostile_card())
        assert r.status_code == 200
        documents[f"http {fmt}"] = r.text
    for name, text in documents.items():
        assert not [t for t in RAW_TAGS if t in text.lower()], f"{name}: raw markup of the label passed through"
        # what a viewer shows: the Markdown rendered as CommonMark (raw HTML allowed, as GitHub-like viewers do)
        shown = MarkdownIt("commonmark", {"html": True}).render(text) if name.endswith("md") else text
        parser = Page()
        parser.feed(shown)
        assert not {"script", "img", "svg"} & set(parser.tags), f"{name}: the label became markup: {set(parser.tags)}"
        # the only links are the report's own (to its appendix): none came from the label
        assert all(u.startswith("#") for u in parser.urls if not u.startswith(("http://", "https://"))), (name, parser.urls)
        assert not [u for u in parser.urls if "javascript" in u.lower()], name
        assert "&lt;script&gt;alert(1)&lt;/script&gt;" in shown and "&lt;img src=x onerror=alert(4)&gt;" in shown, name
    md = MarkdownIt("commonmark").render(documents["http md"])
    assert "[click](javascript:alert(2))" in md, "the link syntax is shown as written, not followed"


def test_the_html_report_sends_and_carries_a_policy_without_script(client):
    r = client.post("/report?format=html", json=make_card("csp"))
    policy = r.headers["content-security-policy"]
    assert "default-src 'none'" in policy and "script-src" not in policy and "frame-ancestors 'none'" in policy
    assert f'<meta http-equiv="Content-Security-Policy" content="{policy.split("; frame-ancestors")[0]}">' in r.text
    assert r.headers["x-content-type-options"] == "nosniff"


def test_the_workbench_pages_allow_only_their_own_script_files(client):
    import base64
    import hashlib
    import re

    pid = json.loads((FIXTURES.parent.parent / "catalogue" / "products.json").read_text(encoding="utf-8"))[0]["id"]
    for url in ("/", "/catalogue", f"/catalogue/{pid}", "/rules", "/sparql", "/docs", "/redoc"):
        r = client.get(url, headers={"accept": "text/html"})
        assert r.status_code == 200, url
        policy = dict(part.strip().split(" ", 1) for part in r.headers["content-security-policy"].split(";"))
        script = policy["script-src"].split()
        assert "'unsafe-inline'" not in script and "'unsafe-eval'" not in script and script[0] == "'self'", (url, script)
        inline = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>(.*?)</script>", r.text, re.DOTALL)
        hashes = {f"'sha256-{base64.b64encode(hashlib.sha256(s.encode()).digest()).decode()}'" for s in inline}
        assert set(script[1:]) == hashes, f"{url}: the policy allows exactly the page's inline scripts"
        assert policy["object-src"] == "'none'" and policy["frame-ancestors"] == "'none'"


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_a_report_in_one_language_cites_in_that_language(model, gathered, lang):
    """The citation resources carry both languages: an English report writes T's paragraphs in arabic numerals and
    its overall assessment in English, a Chinese one writes contract decisions in Chinese (issue 32)."""
    import re

    other = {
        "en": [re.compile(r"T \d+\s*\([一二三四五六七八九十]+\)"), re.compile("综合判定"), re.compile("契约")],
        "zh": [re.compile(r"Contract decision"), re.compile(r"Contract, "), re.compile("overall assessment"), re.compile(r"T \d+\(\d+\)")],
    }[lang]
    for data in gathered:
        text = render(data, lang, "md", model=model)
        found = [p.pattern for p in other if p.search(text)]
        assert not found, (data.card["id"], lang, found, [text[max(0, m.start() - 60) : m.end() + 20] for p in other for m in [p.search(text)] if m][:2])
