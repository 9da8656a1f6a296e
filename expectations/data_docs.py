"""Data Docs that open offline: no script, stylesheet, font or image from the internet.

GX 1.24 renders every page with Bootstrap 4, bootstrap-table, datepicker, Vega, Font Awesome,
jQuery and Popper from five CDNs, and the logo from GX's S3 bucket with the project's
``dataContextId`` in the query string. A brand's machine is often offline or behind a proxy;
the pages then wait on requests that fail, and the logo request tells a third party that a
project opened its docs. ``make_offline`` rewrites the site after each render:

* every ``<script src>`` and ``<link href>`` on an ``http(s)://`` address is removed, an
  ``<img src>`` on one shows GX's own logo (GX ships it and copies it into ``static/images``),
  and a ``url(http...)`` in a style becomes ``none`` (the dark theme's logo background);
  references to the site's ``static/`` folder are made relative to the page (GX 1.24 writes
  the favicon's one ``../`` short);
* ``static/styles/quanyu_offline.css`` (this folder's ``data_docs_offline.css``) is linked in
  its place: the few layout rules the pages need (tables, cards, badges, the navigation) so
  that a validation page reads well without Bootstrap.

What is lost offline: the index's sorting and filtering (bootstrap-table), Font Awesome's
icons (the offline stylesheet writes the status icons as "✔ ok" and "✘ failed", which
would otherwise be blank) and Vega charts (used by profiling pages, which Quanyu does not
build). Navigation links to docs.greatexpectations.io
stay: they are links, not assets, and fetch nothing until clicked.
"""
from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

OFFLINE_CSS = Path(__file__).with_name("data_docs_offline.css")
OFFLINE_CSS_TARGET = Path("static") / "styles" / "quanyu_offline.css"
LOGO = Path("static") / "images" / "logo-long.png"

# a tag loading an asset from the internet (a script with its closing tag)
REMOTE_SCRIPT = re.compile(r'<script\b[^>]*\bsrc\s*=\s*["\']https?://[^"\']*["\'][^>]*>\s*</script>\s*', re.I)
REMOTE_LINK = re.compile(r'<link\b[^>]*\bhref\s*=\s*["\']https?://[^"\']*["\'][^>]*>\s*', re.I)
REMOTE_IMG_SRC = re.compile(r'(<img\b[^>]*\bsrc\s*=\s*["\'])https?://[^"\']*(["\'])', re.I)
REMOTE_CSS_URL = re.compile(r'url\(\s*["\']?https?://[^)"\']*["\']?\s*\)', re.I)
# a reference to the site's static folder (GX 1.24 writes the favicon's one "../" short on validation pages)
SITE_STATIC = re.compile(
    r'(<(?:link|script|img)\b[^>]*\b(?:src|href)\s*=\s*["\'])(?:\./|(?:\.\./)+)?(static/[^"\']+)(["\'])', re.I)
MARKER = "quanyu_offline.css"


def _relative(target: Path, page: Path) -> str:
    return Path(os.path.relpath(target, page.parent)).as_posix()


def offline_html(text: str, page: Path, site: Path) -> str:
    """``text`` of ``page`` (a file of ``site``) with every remote asset replaced or removed."""
    logo = _relative(site / LOGO, page)
    text = REMOTE_SCRIPT.sub("", text)
    text = REMOTE_LINK.sub("", text)
    text = REMOTE_IMG_SRC.sub(lambda m: f"{m.group(1)}{logo}{m.group(2)}", text)
    text = REMOTE_CSS_URL.sub("none", text)
    text = SITE_STATIC.sub(lambda m: f"{m.group(1)}{_relative(site / m.group(2), page)}{m.group(3)}", text)
    if MARKER not in text and "</head>" in text:
        link = f'<link rel="stylesheet" href="{_relative(site / OFFLINE_CSS_TARGET, page)}">\n'
        text = text.replace("</head>", link + "</head>", 1)
    return text


def make_offline(site: Path, pages: list[Path] | None = None) -> int:
    """Rewrite the Data Docs ``site``'s pages (``pages``, default every page and stylesheet) that
    refer to a remote asset; returns how many files changed.

    Idempotent: a rewritten page is read and left as it is. GX rewrites only the pages it
    renders, so after a render only those (and the index) need it; the whole site is a few
    thousand pages at most (results are kept 30 days).
    """
    site = Path(site)
    target = site / OFFLINE_CSS_TARGET
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(OFFLINE_CSS, target)
    changed = 0
    files = [*(site.rglob("*.html") if pages is None else pages), *(site / "static").rglob("*.css")]
    for path in files:
        if not path.exists():
            continue
        text = path.read_text(encoding="utf-8")
        if path.suffix == ".css":
            new = REMOTE_CSS_URL.sub("none", text)
        else:
            new = offline_html(text, path, site)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed += 1
    return changed


ASSET_REFERENCE = re.compile(
    r'<(?:script|img)\b[^>]*\bsrc\s*=\s*["\']([^"\']+)["\']|<link\b[^>]*\bhref\s*=\s*["\']([^"\']+)["\']'
    r'|url\(\s*["\']?([^)"\']+)["\']?\s*\)', re.I)


def asset_references(path: Path) -> list[str]:
    """Every script, stylesheet, icon, image and font a page or stylesheet loads (not ``<a>`` links)."""
    text = Path(path).read_text(encoding="utf-8")
    return [next(g for g in m.groups() if g) for m in ASSET_REFERENCE.finditer(text)]


def offline_problems(site: Path) -> list[str]:
    """``file: reference`` for every remote asset, and every local one that does not exist."""
    site = Path(site)
    problems = []
    for path in [*site.rglob("*.html"), *site.rglob("*.css")]:
        for reference in asset_references(path):
            if reference.startswith("data:") or reference.startswith("#"):
                continue
            local = reference.split("?")[0].split("#")[0]
            if re.match(r"^(?:[a-z]+:)?//", reference, re.I):
                problems.append(f"{path.relative_to(site)}: remote asset {reference}")
            elif not (path.parent / local).exists():
                problems.append(f"{path.relative_to(site)}: missing local asset {reference}")
    return problems
