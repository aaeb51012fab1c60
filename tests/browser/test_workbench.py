"""The web workbench in real headless Chromium (Debian's ``chromium`` driven by Playwright), against a real
``atmp serve`` process: a new user fills the form for catalogue products from scratch and gets the catalogue's
answers, sees a contradiction beside its field, switches language, applies a what-if change, runs a named query,
reads the offline API docs. Every request the browser makes must go to the app itself (the machines are offline),
no page element references another host (the product page's provenance links are the only anchors allowed out), and
no request gets a 5xx. Screenshots land in ``tests/artifacts/browser/`` (gitignored; the path is printed).

``tests/browser/install.sh`` installs chromium with apt; the tests skip, saying why, only where none is installed.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import ROOT
from tests.service_support import running_server

sync_api = pytest.importorskip("playwright.sync_api", reason="the Python package playwright is not installed (it is in the test extra)")
CHROMIUM = os.environ.get("ATMP_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
if not CHROMIUM:
    pytest.skip("no chromium on this machine: run tests/browser/install.sh (apt-get install chromium) to run the browser tests", allow_module_level=True)

ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]
ARTIFACTS = ROOT / "tests" / "artifacts" / "browser"
CATALOGUE = {c["id"]: c for c in json.loads((ROOT / "catalogue" / "products.json").read_text(encoding="utf-8"))}
FROM_SCRATCH = ("tisagenlecleucel", "exagamglogene-autotemcel", "onasemnogene-abeparvovec")
WAIT = 20_000  # ms: a busy 2-core machine shared by several engineers


@pytest.fixture(scope="module")
def server():
    with running_server("--sparql-workers", "1") as (base, _process, _seconds):
        yield base


@pytest.fixture(scope="module")
def browser():
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    print(f"\nbrowser screenshots: {ARTIFACTS}")
    with sync_api.sync_playwright() as p:
        # launch() gives every run a fresh temporary user-data-dir of its own
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield browser
        browser.close()


class Watch:
    """Every request of one browser context: foreign hosts are refused (and remembered), 5xx answers remembered."""

    def __init__(self, base: str):
        self.host = urlsplit(base).netloc
        self.foreign: list[str] = []
        self.errors: list[str] = []

    def route(self, route) -> None:
        url = route.request.url
        if urlsplit(url).scheme in ("data", "blob") or urlsplit(url).netloc == self.host:
            route.continue_()
        else:
            self.foreign.append(url)
            route.abort()

    def response(self, response) -> None:
        if response.status >= 500:
            self.errors.append(f"{response.status} {response.request.method} {response.url}")


@pytest.fixture
def page(browser, server, request):
    watch = Watch(server)
    locale = getattr(request, "param", "en-GB")
    context = browser.new_context(
        base_url=server, locale=locale, viewport={"width": 1400, "height": 1000}, service_workers="block", accept_downloads=True, bypass_csp=True
    )  # only so that wait_for_function may evaluate its predicate; the routing still refuses other hosts
    context.route("**/*", watch.route)
    page = context.new_page()
    page.on("response", watch.response)
    page.set_default_timeout(WAIT)
    page.watch = watch
    yield page
    context.close()
    assert not watch.foreign, f"the browser asked other hosts: {watch.foreign}"
    assert not watch.errors, f"server errors: {watch.errors}"


def shot(page, name: str, full_page: bool = False) -> Path:
    """What the user sees (the viewport: the header and the answer panel are sticky, so a full-page capture misplaces them)."""
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=full_page)
    return path


def no_foreign_references(page) -> None:
    """No element of the page names another host, except provenance anchors (class ``external``) on a product page."""
    host = page.watch.host
    refs = page.eval_on_selector_all(
        "[src], [href], [action], [data], [poster]",
        "els => els.map(e => [e.tagName, e.className || '', ['src', 'href', 'action', 'data', 'poster'].map(a => e.getAttribute(a)).find(Boolean)])",
    )
    bad = []
    for tag, cls, ref in refs:
        parts = urlsplit(ref)
        if parts.netloc and parts.netloc != host and not (tag == "A" and "external" in cls.split()):
            bad.append((tag, ref))
    assert not bad, f"{page.url} references other hosts: {bad}"


def settle(page) -> None:
    """Wait until the latest edit is classified and its what-if answered."""
    page.wait_for_timeout(50)
    page.wait_for_function("!document.body.dataset.busy")


def field(path: str) -> str:
    return f'[id="in-{path}"]'


def fill_card(page, card: dict) -> None:
    page.fill(field("id"), card["id"])
    page.fill(field("label.en"), card.get("label", {}).get("en", ""))
    for section in ("substance", "process", "function"):
        for key, value in card[section].items():
            path = f"{section}.{key}"
            if isinstance(value, dict):  # free text per language (the indication)
                for lang, text in value.items():
                    page.fill(field(f"{path}.{lang}"), text)
                continue
            box = page.locator(f'.field[data-path="{path}"]')
            if box.is_hidden():
                page.click(f'button[data-reveal="{path}"]')
            if isinstance(value, list):
                for code in value:
                    page.check(f'{field(path)} input[value="{code}"]')
            elif value is None:
                page.select_option(field(path), "")
            else:
                page.select_option(field(path), str(value).lower() if isinstance(value, bool) else value)


def shown(page) -> dict:
    """The answer panel as codes: what a user reads, in machine form."""
    out = {}
    for key in ("nmpa.class", "nmpa.subclass", "tianjin.category", "tianjin.subcategory", "tianjin.risk_tier", "exclusion"):
        code = page.locator(f'#summary [data-result="{key}"] code.code')
        out[key] = code.inner_text() if code.count() else None
    numbers = page.locator("#summary ul.criteria")
    out["criteria"] = [int(n) for n in numbers.get_attribute("data-numbers").split(",")] if numbers.count() else []
    out["borderline"] = sorted(page.eval_on_selector_all("#result ul.borderline li", "els => els.map(e => e.dataset.code)"))
    return out


def expected(result: dict) -> dict:
    return {
        "nmpa.class": result["nmpa"]["class"],
        "nmpa.subclass": result["nmpa"]["subclass"],
        "tianjin.category": result["tianjin"]["category"],
        "tianjin.subcategory": result["tianjin"]["subcategory"],
        "tianjin.risk_tier": result["tianjin"]["risk_tier"],
        "exclusion": result["exclusion"],
        "criteria": result["tianjin"]["criteria"],
        "borderline": sorted(b["code"] for b in result["borderline"]),
    }


@pytest.mark.parametrize("product_id", FROM_SCRATCH)
def test_a_catalogue_product_filled_from_scratch_gets_its_catalogue_answer(page, server, product_id):
    want = httpx.get(f"{server}/products/{product_id}").json()
    page.goto("/")
    no_foreign_references(page)
    card = {k: v for k, v in CATALOGUE[product_id].items() if k != "provenance"}
    fill_card(page, card)
    settle(page)
    assert shown(page) == expected(want["result"])
    assert page.locator(".ok").is_visible()  # the catalogue card is coherent
    assert json.loads(page.input_value("#card-json"))["substance"]["kind"] == card["substance"]["kind"]
    # issue 17: the other regimes and every disagreement between them, as the result carries them
    crosswalk = [x["code"] for x in want["result"].get("crosswalk", [])]
    assert page.locator("#crosswalk li").evaluate_all("els => els.map(e => e.dataset.code)") == crosswalk if crosswalk else page.locator("#crosswalk").count() == 0
    assert page.locator("#regimes tr").count() >= 3
    page.click("#explanation > summary")
    shot(page, f"describe-{product_id}")


def test_conditional_fields_follow_the_shapes(page):
    page.goto("/")
    assert page.locator('.field[data-path="substance.cell_type"]').is_hidden()
    assert page.locator('button[data-reveal="substance.cell_type"]').is_visible()
    page.select_option(field("substance.kind"), "cells")
    assert page.locator('.field[data-path="substance.cell_type"]').is_visible()
    assert page.locator('.field[data-path="substance.gene_editing_tool"]').is_hidden()
    page.check(f'{field("process.manipulations")} input[value="gene_editing"]')
    assert page.locator('.field[data-path="substance.gene_editing_tool"]').is_visible()


def test_a_contradictory_card_shows_its_violation_beside_the_field(page, server):
    page.goto("/")
    page.fill(field("id"), "contradictory")
    page.select_option(field("substance.kind"), "cells")
    page.select_option(field("substance.origin"), "autologous")
    page.check(f'{field("process.manipulations")} input[value="gene_editing"]')
    page.select_option(field("function.intended_use"), "treatment")
    page.check(f'{field("function.mechanism")} input[value="immunological"]')
    settle(page)
    card = json.loads(page.input_value("#card-json"))
    violations = {v["path"]: v["message"]["en"] for v in httpx.post(f"{server}/classify", json=card).json()["violations"]}
    assert {"substance.cell_type", "substance.gene_editing_tool"} <= set(violations)
    for path, message in violations.items():
        beside = page.locator(f'[data-msg-for="{path}"] .violation')
        assert message in beside.all_inner_texts(), path
        assert page.locator(f'.field[data-path="{path}"]').get_attribute("class").split().count("bad") == 1
    page.locator('.field[data-path="substance.cell_type"]').evaluate("e => e.scrollIntoView({block: 'center'})")
    shot(page, "describe-contradiction")


def test_bad_input_shows_the_fields_message_and_no_server_error(page):
    page.goto("/?from=tisagenlecleucel")
    settle(page)
    page.fill(field("id"), "not a valid id!")
    settle(page)
    message = page.locator('[data-msg-for="id"] .violation').inner_text()
    assert "letters, digits" in message and "not-a-valid-id" in message, message  # the rule in words, the nearest valid id
    assert page.locator(".incomplete").is_visible()
    page.fill(field("id"), "fixed-id")
    settle(page)
    assert page.locator('[data-msg-for="id"]').inner_text() == ""
    # a file that is not a card: the message says so, the form is untouched
    page.set_input_files("#upload", files=[{"name": "broken.json", "mimeType": "application/json", "buffer": b"{not json"}])
    page.wait_for_function("document.getElementById('upload-msg').textContent.length > 0")
    assert page.input_value(field("id")) == "fixed-id"
    # a card with what the form cannot hold: each part is named, none dropped silently
    odd = {
        "id": "odd",
        "substance": {"kind": "cell", "colour": "red"},
        "process": {"manipulations": ["washing", "polishing"]},
        "notes": "x",
        "function": {"intended_use": "treatment", "mechanism": ["immunological"]},
    }
    page.set_input_files("#upload", files=[{"name": "odd.json", "mimeType": "application/json", "buffer": json.dumps(odd).encode()}])
    page.wait_for_function("document.getElementById('upload-msg').textContent.includes('polishing')")
    message = page.inner_text("#upload-msg")
    assert all(part in message for part in ('"cell"', "“colour”", "“notes”", "polishing")), message
    shot(page, "describe-bad-input")


def test_upload_a_card_file_and_download_it_again(page, tmp_path):
    card = {k: v for k, v in CATALOGUE["tisagenlecleucel"].items() if k != "provenance"}
    page.goto("/")
    page.set_input_files("#upload", files=[{"name": "kymriah.json", "mimeType": "application/json", "buffer": json.dumps(card).encode()}])
    settle(page)
    assert page.input_value(field("substance.cell_type")) == "t_cell"
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("#copy-json")
    page.wait_for_function("document.getElementById('export-msg').textContent.length > 0")
    assert json.loads(page.evaluate("navigator.clipboard.readText()"))["substance"]["cell_type"] == "t_cell"
    with page.expect_download() as download:
        page.click("#download-json")
    saved = tmp_path / "card.json"
    download.value.save_as(saved)
    assert sorted(json.loads(saved.read_text())["process"]["manipulations"]) == sorted(card["process"]["manipulations"])  # schema order


@pytest.mark.parametrize("page", ["zh-CN"], indirect=True)
def test_language_follows_the_browser_and_switches(page):
    page.goto("/?from=tisagenlecleucel")
    settle(page)
    assert page.locator("html").get_attribute("lang") == "zh-CN"
    assert page.locator('label[for="in-substance.kind"]').inner_text().startswith("活性成分种类")
    assert "细胞治疗药品" in page.locator('#summary [data-result="nmpa.class"]').inner_text()
    shot(page, "describe-zh")
    page.goto("/catalogue")
    assert page.locator("h1").inner_text().startswith("产品目录")
    shot(page, "catalogue-zh")
    page.goto("/")
    settle(page)
    page.click("#lang-switch")
    page.wait_for_load_state()
    settle(page)
    assert page.locator("html").get_attribute("lang") == "en"
    assert page.locator('label[for="in-substance.kind"]').inner_text().startswith("substance kind")
    assert page.input_value(field("substance.cell_type")) == "t_cell"  # the card survives the switch
    page.goto("/catalogue")
    assert page.locator("html").get_attribute("lang") == "en"  # the choice is remembered


def test_a_whatif_change_applies_to_the_form(page):
    page.goto("/")
    page.select_option("#start-from", "tisagenlecleucel")
    settle(page)
    before = shown(page)
    entry = page.locator("#whatif-ranked > li").first
    move = entry.locator(".move").first
    boundary, target = move.get_attribute("data-boundary"), json.loads(move.get_attribute("data-to"))
    from atmp.analysis.whatif import BOUNDARIES

    result_field = BOUNDARIES[boundary]
    page.locator("#whatif").scroll_into_view_if_needed()
    shot(page, "describe-whatif")
    entry.locator("button.change").click()
    settle(page)
    after = shown(page)
    assert after[result_field] == target != before[result_field]


def test_report_buttons_post_the_card_to_the_report_route(page, server):
    probe = httpx.post(
        f"{server}/report",
        json={"id": "x", "substance": {"kind": "protein"}, "process": {"manipulations": []}, "function": {"intended_use": "treatment", "mechanism": ["pharmacological"]}},
        headers={"accept": "text/html"},
    )
    if probe.status_code in (404, 405):
        page.goto("/?from=tisagenlecleucel")
        settle(page)
        page.click("#report-html")
        page.wait_for_function("document.getElementById('export-msg').textContent.includes('/report')")
        pytest.skip("POST /report (issue 14, http/routers/report.py) is not in this build: the button says so; the test runs once it is merged")
    page.goto("/?from=tisagenlecleucel")
    settle(page)
    for button, kind in (("#report-html", "html"), ("#report-md", "md")):
        with page.expect_download() as download:
            page.click(button)
        assert download.value.suggested_filename.endswith(f".{kind}")
        text = Path(download.value.path()).read_text(encoding="utf-8").lower()
        assert "tisagenlecleucel" in text or "kymriah" in text, text[:500]  # the report is of the card on the form


def test_catalogue_table_filters_and_product_page(page, server):
    high = httpx.get(f"{server}/products", params={"tier": "high"}).json()["count"]
    page.goto("/catalogue")
    no_foreign_references(page)
    total = page.locator("#catalogue tbody tr").count()
    assert total == httpx.get(f"{server}/products").json()["count"]
    page.select_option('[data-filter="tianjin.risk_tier"]', "high")
    assert page.locator("#catalogue tbody tr:visible").count() == high == int(page.inner_text("#count"))
    shot(page, "catalogue")
    page.click('#catalogue tbody tr[data-id="tisagenlecleucel"] a')
    page.wait_for_url("**/catalogue/tisagenlecleucel")
    no_foreign_references(page)
    assert page.locator("#provenance a.external").count() >= 1
    assert "CTMP" in page.inner_text("#result")
    shot(page, "product")


def test_rule_book_lists_passages_in_order_with_their_classes(page):
    page.goto("/rules")
    no_foreign_references(page)
    documents = page.eval_on_selector_all("section.document", "els => els.map(e => e.dataset.document)")
    assert documents[:2] == ["N", "T"]
    n_first = page.eval_on_selector_all('section[data-document="N"] details.passage', "els => els.slice(0, 8).map(e => e.dataset.cite)")
    starts = [int(c.split()[1].split("-")[0]) for c in n_first]
    assert len(starts) == 8 and starts == sorted(starts)
    passage = page.locator('details.passage:has(.rule[data-class="CellTherapyMedicinalProduct"])').first
    passage.locator("summary").first.click()
    rule = passage.locator('.rule[data-class="CellTherapyMedicinalProduct"]')
    assert rule.locator("p.def[lang=zh]").inner_text() and rule.locator("p.def[lang=en]").inner_text()
    rule.locator("details.decides > summary").click()
    assert rule.locator(".decides a").count() > 5
    shot(page, "rules")


def test_sparql_page_runs_a_named_query(page, server):
    page.goto("/sparql")
    no_foreign_references(page)
    page.select_option("#named", "products-by-nmpa-subclass")
    page.fill('[data-param="subclass"]', "viral_vector_gtmp")
    page.click("#run")
    page.wait_for_selector("#result-table")
    rows = page.locator("#result-table tbody tr").count()
    bound = httpx.post(f"{server}/queries/products-by-nmpa-subclass/bind", json={"subclass": "viral_vector_gtmp"}).json()["query"]
    answer = httpx.post(f"{server}/sparql", data={"query": bound}, headers={"accept": "application/sparql-results+json"}).json()
    assert rows == len(answer["results"]["bindings"]) > 0
    shot(page, "sparql")
    with page.expect_download() as download:
        page.click("#csv")
    assert Path(download.value.path()).read_text(encoding="utf-8").splitlines()[0] == ",".join(answer["head"]["vars"])
    page.select_option("#named", "approvals-by-year")  # a parameter of the wrong type: its message beside it, no query run
    page.fill('[data-param="year"]', "last year")
    page.click("#run")
    page.wait_for_function("document.querySelector('#params [data-msg-for=\"year\"]').textContent.includes('integer')")


def test_docs_render_offline(page):
    page.goto("/docs")
    page.wait_for_selector(".opblock-summary", timeout=WAIT)
    assert page.locator(".opblock").count() >= 10
    assert page.locator('.opblock-summary-path[data-path="/whatif"]').count() == 1
    no_foreign_references(page)
    shot(page, "docs")
    page.goto("/redoc")
    page.wait_for_selector("h1", timeout=WAIT)
    assert "ATMP-KG" in page.inner_text("body")
    no_foreign_references(page)


# -- issue 34, item 5: the pages work under their own Content-Security-Policy ------------------------------------
@pytest.fixture
def strict_page(browser, server):
    """A page that enforces the served CSP (the others bypass it for wait_for_function): every console message
    and uncaught error is kept, so a script, style or request the policy blocks fails the test."""
    watch = Watch(server)
    context = browser.new_context(base_url=server, locale="en-GB", viewport={"width": 1400, "height": 1000}, service_workers="block")
    context.route("**/*", watch.route)
    page = context.new_page()
    page.on("response", watch.response)
    page.console_texts = []
    page.on("console", lambda m: page.console_texts.append(f"{m.type}: {m.text}"))
    page.on("pageerror", lambda e: page.console_texts.append(f"pageerror: {e}"))
    page.set_default_timeout(WAIT)
    yield page
    context.close()
    assert not watch.foreign and not watch.errors, (watch.foreign, watch.errors)


def test_the_pages_work_under_their_content_security_policy(strict_page):
    page = strict_page
    page.goto("/?from=tisagenlecleucel")
    page.locator('#summary [data-result="nmpa.class"] code.code').wait_for(state="attached")  # codes show in the expert view only
    assert page.locator('#summary [data-result="nmpa.class"] code.code').text_content() == "CTMP"
    # the upload goes through the service's decoder: a duplicate key is named, as atmp classify would name it
    twice = json.dumps({k: v for k, v in CATALOGUE["tisagenlecleucel"].items() if k != "provenance"}).replace('"substance": {', '"substance": {"kind": "vector", ', 1)
    page.set_input_files("#upload", files=[{"name": "twice.json", "mimeType": "application/json", "buffer": twice.encode()}])
    page.locator("#upload-msg", has_text="substance.kind").wait_for()
    assert "duplicate key" in page.inner_text("#upload-msg")
    page.goto("/catalogue")
    page.locator("table tbody tr").first.wait_for()
    page.goto("/rules")
    page.locator("h1").wait_for()
    page.goto("/sparql")
    page.locator("h1").wait_for()
    page.goto("/docs")
    page.wait_for_selector(".opblock-summary")
    page.goto("/redoc")
    page.wait_for_selector("h1")
    blocked = [t for t in page.console_texts if "Content Security Policy" in t or t.startswith("pageerror")]
    assert not blocked, blocked


# ============================================================================ issue 30: the workbench as a reviewer meets it
EXAMPLES = json.loads((ROOT / "tests" / "fixtures" / "examples" / "cards.json").read_text(encoding="utf-8"))
I18N = json.loads((ROOT / "service" / "atmp" / "http" / "static" / "i18n.json").read_text(encoding="utf-8"))
# what a Python object looks like when a template prints it instead of its words
PYTHON_REPR = ("<built-in", " object at 0x", "{'", "[{'", "': '", "<function ", "<bound method")


def card_fields() -> set[str]:
    from atmp.core.rules.ontology import load_model

    return {p.field for p in load_model().properties} | {"function.indication"}


def upload(page, card: dict) -> None:
    page.set_input_files("#upload", files=[{"name": f"{card['id']}.json", "mimeType": "application/json", "buffer": json.dumps(card).encode()}])
    page.wait_for_function(f"document.getElementById('in-id').value === {json.dumps(card['id'])}")
    settle(page)


def visible_text(page, selector: str) -> str:
    """What a user reads there: innerText leaves out what the page hides (the codes of the expert view)."""
    return page.locator(selector).inner_text() if page.locator(selector).count() else ""


@pytest.mark.parametrize("page", ["en-GB", "zh-CN"], indirect=True)
def test_the_copy_button_says_copy_and_copies(page):
    page.goto("/?from=tisagenlecleucel")
    settle(page)
    lang = page.locator("body").get_attribute("data-lang")
    assert page.inner_text("#copy-json") == I18N[lang]["copy"]
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.click("#copy-json")
    page.wait_for_function("document.getElementById('export-msg').textContent.length > 0")
    assert json.loads(page.evaluate("navigator.clipboard.readText()"))["id"] == "tisagenlecleucel"
    page.locator("#copy-json").scroll_into_view_if_needed()
    shot(page, f"issue30-copy-button-{lang}")


@pytest.mark.parametrize("page", ["en-GB", "zh-CN"], indirect=True)
def test_no_page_shows_a_python_object(page):
    pages = ["/", "/?from=tisagenlecleucel", "/catalogue", "/rules", "/sparql"]
    pages += [f"/catalogue/{cid}" for cid in list(CATALOGUE)[::9]]  # every ninth product page, decisions and approvals included
    for url in pages:
        page.goto(url)
        if url.startswith("/?"):
            settle(page)
        text = page.inner_text("body")
        found = [r for r in PYTHON_REPR if r in text]
        assert not found, (url, found, text[text.find(found[0]) - 80 : text.find(found[0]) + 80] if found else "")


def test_product_page_shows_the_agencies_decisions_in_words(page, server):
    with_decisions = [cid for cid, c in CATALOGUE.items() if (c.get("provenance") or {}).get("decisions")]
    cid = with_decisions[0]
    page.goto(f"/catalogue/{cid}")
    rows = page.locator("#decisions tbody tr")
    assert rows.count() == len(CATALOGUE[cid]["provenance"]["decisions"])
    text = page.inner_text("#decisions")
    for d in CATALOGUE[cid]["provenance"]["decisions"]:
        assert d["source"] in text
        assert d["field"] not in text  # the question in words; the field only in the expert view
    assert page.inner_text('#provenance tr[data-key="agency"] th') == I18N["en"]["agency"]
    page.locator("#decisions").scroll_into_view_if_needed()
    shot(page, "issue30-product-decisions")


def test_rule_book_groups_by_document_with_titles_and_decision_links_land_on_their_text(page, server):
    from atmp.analysis.sources import decisions, documents
    from atmp.core.rules.ontology import load_model

    model = load_model()
    page.goto("/rules")
    headings = page.eval_on_selector_all("section.document h2", "els => els.map(e => e.innerText)")
    docs = documents(model)
    groups = page.eval_on_selector_all("section.document", "els => els.map(e => e.dataset.document)")
    assert [g for g in groups if g != "other"] == [k for k in docs if k in groups]
    for key, heading in zip(groups, headings, strict=True):
        if key != "other":
            assert heading == f"{key}: {docs[key]['label']['en']}"
    tokens = {g.split()[0] for g in groups}
    assert not {"21", "Reg", "Dir", "Issue", "Project"} & {g for g in groups}, groups  # not the first token of a citation
    assert len(tokens) >= 2
    # on the describe page a contract decision is named by its label and links to its text
    page.goto("/?from=tisagenlecleucel")
    settle(page)
    link = page.locator("#summary a.cite", has_text="Contract decision").first
    name = link.inner_text()
    assert any(name == d["label"]["en"] for d in decisions(model)), name
    link.click()
    page.wait_for_url("**/rules#decision_*")
    target = page.locator(f"#{page.url.rsplit('#', 1)[1]}")
    assert target.is_visible() and name in target.inner_text()
    assert target.locator("p.def[lang=en]").inner_text() and target.locator("p.def[lang=zh]").inner_text()
    shot(page, "issue30-rules-decision")


def test_no_message_of_the_examples_names_a_field_by_its_path(page):
    """Every example card uploaded: the messages (borderline, contradictions, warnings, the regimes' notes, the
    crosswalk, beside the fields) name no card field by its path and no result code; the codes are the expert's."""
    from atmp.core.rules.ontology import load_model

    paths = card_fields()
    codes = {rc.code for rc in load_model().result_classes if rc.code and "_" in rc.code}
    page.goto("/")
    for card in EXAMPLES:
        upload(page, card)
        texts = [visible_text(page, "#result")] + page.locator("form .msg").all_inner_texts()
        text = "\n".join(texts)
        assert not [p for p in paths if p in text], (card["id"], [p for p in paths if p in text])
        assert not [c for c in codes if c in text], (card["id"], [c for c in codes if c in text])
    page.locator("#result").evaluate("e => e.scrollIntoView()")
    shot(page, "issue30-messages-in-words")


def test_the_page_is_busy_while_a_product_loads(page):
    """A slow machine answered /products/<id> after the tests' settle had looked: the page must say it is busy from the start.
    The product's answer is held until the page has been looked at, so the test does not depend on timing."""
    held = []
    page.route("**/products/*", lambda route: held.append(route))
    page.goto("/?from=tisagenlecleucel")
    while not held:
        page.wait_for_timeout(20)
    assert page.evaluate("document.body.dataset.busy") == "load"
    page.watch.route(held[0])
    page.unroute("**/products/*")
    settle(page)
    assert page.locator('#summary [data-result="nmpa.subclass"]').count() == 1
    page.goto("/?from=no-such-product")
    settle(page)
    assert "no-such-product" in page.locator("#upload-msg").inner_text()  # said, not an empty form without a word


def test_words_by_default_codes_in_the_expert_view(page):
    page.goto("/?from=tisagenlecleucel")
    settle(page)
    summary = page.locator('#summary [data-result="nmpa.subclass"]')
    code = summary.locator("code.code")
    assert code.count() == 1 and code.is_hidden()
    assert page.locator('label[for="in-id"]').inner_text().startswith(I18N["en"]["field_id"])
    assert not page.locator('label[for="in-substance.kind"] code.code').is_visible()
    assert "·" not in page.locator(field("substance.kind")).inner_text()  # an option is its label, not "label · code"
    page.check("#expert-view")
    assert code.is_visible() and page.locator('label[for="in-substance.kind"] code.code').is_visible()
    shot(page, "issue30-expert-view")
    page.reload()
    settle(page)
    assert page.locator("#expert-view").is_checked()  # remembered
    page.uncheck("#expert-view")


@pytest.mark.parametrize("page", ["en-GB", "zh-CN"], indirect=True)
def test_the_report_follows_the_pages_language(page):
    page.goto("/?from=tisagenlecleucel")
    settle(page)
    lang = page.locator("body").get_attribute("data-lang")
    with page.expect_download() as download:
        page.click("#report-html")
    html = Path(download.value.path()).read_text(encoding="utf-8")
    sections = re.findall(r'<section class="lang" lang="([^"]+)"', html)
    assert sections == ["zh-CN" if lang == "zh" else "en"], sections
    with page.expect_download() as download:
        page.click("#report-md")
    md = Path(download.value.path()).read_text(encoding="utf-8")
    headings = [line for line in md.splitlines() if line.startswith("# ")]
    assert len(headings) == 1 and ("先进治疗药品" in headings[0]) == (lang == "zh")  # one language: one document


@pytest.mark.parametrize("product_id", ["tisagenlecleucel", "amimestrocel", "onasemnogene-abeparvovec"])
def test_whatif_ranking_puts_changes_a_sponsor_could_make_first(page, server, product_id):
    """One entry per change with every boundary it moves; coherent changes that keep the kind of product first,
    among them those staying in scope and moving the tier or subclass; ten shown, the rest behind "more"."""
    from atmp.analysis.whatif import RANK_ORDER

    card = {k: v for k, v in CATALOGUE[product_id].items() if k != "provenance"}
    ranked = httpx.post(f"{server}/whatif", json=card).json()["ranked"]
    page.goto(f"/?from={product_id}")
    settle(page)
    shown_ranked = page.locator("#whatif-ranked > li")
    assert shown_ranked.count() == min(10, len(ranked))
    texts = page.locator("#whatif button.change").evaluate_all("els => els.map(e => e.dataset.text)")
    assert texts == [e["text"] for e in ranked] and len(texts) == len(set(texts))  # each change once, in order
    if len(ranked) > 10:
        more = page.locator("#whatif-more")
        assert more.locator("li").first.is_hidden()
        more.locator("summary").click()
        assert more.locator("li").count() == len(ranked) - 10
    for i, e in enumerate(ranked[:10]):
        moves = page.locator(f'#whatif li[data-rank="{i}"] .move')
        assert moves.count() == len(e["crosses"])
    plausible = [e["plausible"] for e in ranked]
    assert plausible == sorted(plausible, reverse=True) and plausible[0]  # plausible changes first
    head = [e for e in ranked if e["plausible"]]
    stays = [not any(x["to"] is None or x["boundary"] == "exclusion" for x in e["crosses"]) for e in head]
    assert stays == sorted(stays, reverse=True)
    firsts = [min(RANK_ORDER.index(x["boundary"]) for x in e["crosses"]) for e, s in zip(head, stays, strict=True) if s]
    assert firsts == sorted(firsts)
    assert "substance.kind" not in {c["field"] for e in head for c in e["changes"]}  # the same kind of product
    page.locator("#whatif").scroll_into_view_if_needed()
    shot(page, f"issue30-whatif-{product_id}")


def test_indication_in_the_form_the_report_and_the_catalogue(page, server):
    with_indication = [cid for cid, c in CATALOGUE.items() if (c["function"].get("indication"))]
    assert with_indication
    cid = with_indication[0]
    indication = CATALOGUE[cid]["function"]["indication"]
    page.goto(f"/?from={cid}")
    settle(page)
    assert page.input_value(field("function.indication.en")) == indication["en"]
    assert json.loads(page.input_value("#card-json"))["function"]["indication"] == indication
    page.fill(field("function.indication.en"), "a changed indication")
    settle(page)
    assert json.loads(page.input_value("#card-json"))["function"]["indication"]["en"] == "a changed indication"
    with page.expect_download() as download:
        page.click("#report-md")
    assert "a changed indication" in Path(download.value.path()).read_text(encoding="utf-8")
    page.goto(f"/catalogue/{cid}")
    assert indication["en"] in page.inner_text("#indication")
    page.goto("/catalogue")
    assert indication["en"] in page.inner_text(f'#catalogue tr[data-id="{cid}"]')
    shot(page, "issue30-catalogue-indication")


def test_api_docs_show_a_real_card_as_the_example_body(page, server):
    first = json.loads((ROOT / "catalogue" / "products.json").read_text(encoding="utf-8"))[0]
    page.goto("/docs")
    page.wait_for_selector(".opblock-summary")
    page.locator('.opblock-summary-path[data-path="/classify"]').first.click()
    page.wait_for_selector(".opblock-body .body-param__example, .opblock-body .example, .opblock-body pre")
    body = page.locator(".opblock.is-open .opblock-body").inner_text()
    assert first["id"] in body and "[ ]" not in body.split(first["id"])[0][-20:]
    shot(page, "issue30-docs-example")


# ============================================================================ issue 32: every error says what to type instead
def messages(page) -> list[str]:
    """Every message the page shows: beside the fields, in the answer panel, under the upload."""
    return [m for m in page.locator("form .msg, #result .errors li, #upload-msg").all_inner_texts() if m.strip()]


@pytest.mark.parametrize("page", ["en-GB", "zh-CN"], indirect=True)
def test_every_problem_of_the_card_shows_at_once_beside_its_field(page):
    from atmp.core.card.schema import nearest_match
    from atmp.core.rules.resources import CARD_SCHEMA, schema

    card_schema = schema(CARD_SCHEMA)
    required = [f"{s}.{k}" for s in ("substance", "process", "function") for k in card_schema["properties"][s].get("required", ())]
    page.goto("/")
    settle(page)
    for key in ("process.manipulations", "function.mechanism"):  # the empty form sends these as empty lists
        required.remove(key)
    page.fill(field("id"), "my product")
    settle(page)
    beside = {path: page.locator(f'[data-msg-for="{path}"] .violation').all_inner_texts() for path in ["id", *required, "function.mechanism"]}
    assert all(beside.values()), beside  # each problem beside its own field, all at once
    assert not [m for m in messages(page) if any(r in m for r in ("^[", "]{", "{0,", "\\d", "[A-Za-z"))]  # no regular expression
    lang = page.locator("body").get_attribute("data-lang")
    assert I18N[lang]["use"] in beside["id"][0]
    shot(page, f"issue32-all-problems-{lang}")
    page.locator('[data-msg-for="id"] button.use').click()
    settle(page)
    assert page.input_value(field("id")) == nearest_match(card_schema["properties"]["id"]["pattern"], "my product", 128)
    assert page.locator('[data-msg-for="id"]').inner_text() == ""


def test_an_uploaded_card_with_typos_gets_a_suggestion_for_each_and_one_click_fixes_it(page):
    card = {k: v for k, v in CATALOGUE["tisagenlecleucel"].items() if k != "provenance"}
    typed = json.loads(json.dumps(card))
    typed["substance"]["kind"] = "cell"
    typed["substance"]["orign"] = typed["substance"].pop("origin")
    typed["process"]["manipulations"] = ["culture-expansion" if m == "culture_expansion" else m for m in card["process"]["manipulations"]]
    page.goto("/")
    upload(page, typed)
    for path in ("substance.kind", "process.manipulations", "substance.origin"):
        assert page.locator(f'[data-msg-for="{path}"] button.use').count() == 1, path
    summary = page.inner_text("#upload-msg")
    assert '"cell"' in summary and '"culture-expansion"' in summary and "“orign”" in summary
    shot(page, "issue32-upload-typos")
    for path in ("substance.kind", "process.manipulations", "substance.origin"):
        page.locator(f'[data-msg-for="{path}"] button.use').click()
        settle(page)
    fixed = json.loads(page.input_value("#card-json"))
    assert fixed["substance"]["kind"] == card["substance"]["kind"] and fixed["substance"]["origin"] == card["substance"]["origin"]
    assert sorted(fixed["process"]["manipulations"]) == sorted(card["process"]["manipulations"])
    assert page.inner_text("#upload-msg").strip() == ""
    assert page.locator(".ok").is_visible()


@pytest.mark.parametrize("page", ["en-GB", "zh-CN"], indirect=True)
def test_a_file_that_is_not_json_says_so_and_where_reading_stopped(page):
    text = '{"id": "x",\n  "substance": {kind: "cells"}}'
    try:
        json.loads(text)
    except json.JSONDecodeError as exc:
        line, column = exc.lineno, exc.colno
    page.goto("/")
    page.set_input_files("#upload", files=[{"name": "broken.json", "mimeType": "application/json", "buffer": text.encode()}])
    page.wait_for_function("document.getElementById('upload-msg').textContent.length > 0")
    lang = page.locator("body").get_attribute("data-lang")
    said = page.inner_text("#upload-msg")
    assert said == I18N[lang]["not_json_at"].replace("{line}", str(line)).replace("{column}", str(column)), said
    shot(page, f"issue32-not-json-{lang}")


def test_the_sparql_page_after_an_error_shows_no_stale_table(page):
    page.goto("/sparql")
    page.click("#run")
    page.wait_for_selector("#result-table")
    page.fill("#query", "SELECT ?x WHERE { ?x ?y }")
    page.click("#run")
    page.wait_for_function("document.getElementById('sparql-status').textContent.startsWith('HTTP')")
    assert page.locator("#result-table").count() == 0 and page.inner_text("#results").strip() == ""
    shot(page, "issue32-sparql-error")


@pytest.mark.parametrize("page", ["en-GB", "zh-CN"], indirect=True)
def test_precedents_panel_names_the_nearest_products_and_their_differences_in_words(page):
    """Issue 31: a card started from a catalogue product lists other real products, nearest first, each difference in
    the page's words (the field path only in the expert view), and a red flag where a precedent's decision differs."""
    page.goto("/?from=defibrotide")
    settle(page)
    page.locator("#precedent-list > li").first.wait_for()
    lang = page.locator("body").get_attribute("data-lang")
    first = page.locator("#precedent-list > li").first
    assert first.get_attribute("data-precedent") != "defibrotide"  # the product itself is no precedent
    page.fill(field("id"), "a-defibrotide-like-mixture")
    settle(page)
    page.wait_for_function("document.querySelector('#precedent-list > li') && document.querySelector('#precedent-list > li').dataset.precedent === 'defibrotide'")
    page.locator("#red-flags li").first.wait_for()
    flag = page.locator("#red-flags li").first.inner_text()
    assert ("Defitelio" in flag and "2016" in flag) if lang == "en" else ("去纤苷" in flag and "2016年" in flag), flag
    visible = page.locator("#precedents").inner_text()
    assert "substance." not in visible and "us.pathway" not in visible, visible  # words, not paths
    page.locator("#precedents").scroll_into_view_if_needed()
    shot(page, f"issue31-precedents-{lang}")
