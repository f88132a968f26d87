"""Every text a page or core asks for exists in both catalogs."""
import re
from pathlib import Path

from core.i18n import catalog

ROOT = Path(__file__).resolve().parent.parent
KEY = re.compile(r"""\btr\(\s*f?["']([a-z_]+\.[a-z_.]*)""")
PREFIXED = {"role.", "action.", "group.", "pay.", "kind.", "printer.", "job.", "field.", "reason.", "setup.conn_",
            "setup.mode_", "setup.render_", "source.",
            # callers, report, results (issue 12)
            "call_reason.", "outcome.", "rank.", "incentive.basis.", "results.kind.", "results.stage.", "results.second.",
            "results.tab_", "worklist.filter_"}


def used_keys() -> set[str]:
    keys = set()
    for path in list((ROOT / "pages").glob("*.py")) + [ROOT / "app.py"]:
        keys |= set(KEY.findall(path.read_text(encoding="utf-8")))
    return {k for k in keys if k not in PREFIXED}


def test_no_key_is_defined_in_two_catalog_files():
    import json

    from core.i18n import LANGS, catalog_files

    for lang in LANGS:
        seen: dict[str, str] = {}
        for path in catalog_files(lang):
            for key in json.loads(path.read_text(encoding="utf-8")):
                assert key not in seen, f"{key} in {path.name} and {seen[key]}"
                seen[key] = path.name


def test_catalogs_have_the_same_keys():
    assert set(catalog("zh-CN")) == set(catalog("en"))


def test_every_used_key_exists():
    missing = sorted(k for k in used_keys() if k not in catalog("zh-CN"))
    assert missing == []


def test_every_reason_code_raised_has_a_message():
    raised = set()
    for path in (ROOT / "core").glob("*.py"):
        raised |= set(re.findall(r"""DeskError\(\s*["']([a-z_]+)["']""", path.read_text(encoding="utf-8")))
    missing = sorted(r for r in raised if f"reason.{r}" not in catalog("zh-CN"))
    assert missing == []


def test_dynamic_families_are_complete():
    from core.models import GIFT_KINDS, GROUPS, PAYMENT_METHODS, STAFF_ROLES

    zh = catalog("zh-CN")
    for prefix, values in (("role.", STAFF_ROLES), ("group.", GROUPS), ("pay.", PAYMENT_METHODS), ("kind.", GIFT_KINDS),
                           ("printer.", ("online", "paper_out", "offline", "unknown", "none")),
                           ("job.", ("printed", "failed", "screen", "pending"))):
        assert all(prefix + v in zh for v in values), prefix
