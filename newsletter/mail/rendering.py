"""E-mail rendering: Jinja, then MJML (mjml-python), to HTML and a plain-text part.

The only module that imports ``mjml``. Templates live in ``templates/email/``: a message ``NAME`` is the
folder ``email/NAME/`` with ``subject.txt``, ``body.mjml`` and ``body.txt``; shared parts are
``email/_layout.mjml`` and ``email/_partials/``. Undefined variables fail loudly (StrictUndefined): a
half-rendered mail is never sent.

mjml-python's HTML is brought to what the reference renderer (JS ``mjml`` 5) makes where mail clients
notice (tests/mail/test_mjml_reference.py compares them): unitless zeros in paddings get a unit before
rendering, since mjml-python ignores a padding it cannot parse (an image in ``padding="12px 24px 0"`` would
get the column's full width, 600 instead of 552 px); and the ``<mj-style inline="inline">`` CSS is inlined
into ``style`` attributes with css-inline afterwards, as the reference does with juice (mjml-python only
puts it into a ``<style>`` element, which strict clients drop).
"""

from __future__ import annotations

import contextvars
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import css_inline
import jinja2
import mjml
from flask import Flask, current_app
from flask_babel import force_locale, get_translations

_EXTENSION_KEY = "beitrag.email_renderer"

# The catalogue of the message being rendered, looked up once per message rather than once per string
# (a 20-article issue asks for ~80 strings; Flask-Babel's own gettext finds the catalogue each time).
_translations: contextvars.ContextVar = contextvars.ContextVar("beitrag_email_translations")


def _catalogue():
    return _translations.get(None) or get_translations()


def _gettext(message: str) -> str:
    return _catalogue().ugettext(message)


def _ngettext(singular: str, plural: str, n: int) -> str:
    return _catalogue().ungettext(singular, plural, n)


def _pgettext(context: str, message: str) -> str:
    return _catalogue().upgettext(context, message)


class RenderError(ValueError):
    """A template could not be rendered; the message says which one, where, and why."""


@dataclass(frozen=True)
class RenderedEmail:
    subject: str
    html: str
    text: str


# An MJML element's opening tag (attribute values are escaped by Jinja, so they hold no ">").
_MJ_TAG = re.compile(r"<mj-[a-z-]+\s[^>]*>")
# Padding attributes: mjml-python parses their lengths only with a unit; the reference reads "0" as 0px.
_PADDING_ATTRIBUTE = re.compile(r'(\s(?:inner-)?padding(?:-(?:top|right|bottom|left))?=")([^"]*)"')
_UNITLESS_ZERO = re.compile(r"(?<![\w.])0(?![\w.%])")
_LT_MARK, _GT_MARK = "\ue000", "\ue001"
_INLINE_STYLE = re.compile(r"<mj-style\s[^>]*\binline=\"inline\"[^>]*>(.*?)</mj-style>", re.DOTALL)


def _zero_with_unit(match: re.Match) -> str:
    return f'{match[1]}{_UNITLESS_ZERO.sub("0px", match[2])}"'


def _paddings_with_units(tag: re.Match) -> str:
    return _PADDING_ATTRIBUTE.sub(_zero_with_unit, tag[0])


def _split_inline_css(source: str) -> tuple[str, str]:
    """The source without its ``<mj-style inline="inline">`` elements, and their CSS. Only the head is
    searched: the body holds editors' text, never an mj-style."""
    head_end = source.find("</mj-head>")
    if head_end < 0:
        return source, ""
    head = source[:head_end]
    css = "\n".join(match[1] for match in _INLINE_STYLE.finditer(head))
    return _INLINE_STYLE.sub("", head) + source[head_end:], css


def mjml_to_html(source: str, *, origin: str = "template") -> str:
    """MJML to HTML, as the reference renderer makes it (see above). No web fonts are imported, so the
    message loads nothing from elsewhere."""
    source, inline_css = _split_inline_css(_MJ_TAG.sub(_paddings_with_units, source))
    try:
        html = mjml.mjml2html(source, disable_comments=True, fonts={})
    except ValueError as exc:
        raise RenderError(f"{origin}: the MJML is not valid ({exc})") from None
    if not inline_css:
        return html
    # css-inline parses and writes the document again, and writes "<" and ">" in attribute values as they
    # are (aria-label holds the subject); markup-looking text stays escaped, so they pass through as two
    # private-use characters (one in the text becomes an escaped "<" or ">").
    html = html.replace(_LT_MARK, "&lt;").replace(_GT_MARK, "&gt;")
    html = html.replace("&lt;", _LT_MARK).replace("&gt;", _GT_MARK)
    html = _inliner(inline_css).inline(html)
    return html.replace(_LT_MARK, "&lt;").replace(_GT_MARK, "&gt;")


@functools.lru_cache(maxsize=16)
def _inliner(css: str) -> css_inline.CSSInliner:
    """As juice in the reference: only this CSS is inlined; the <style> elements stay as they are, for the
    media queries and the clients that read them. Every template shares one layout, so one CSS."""
    return css_inline.CSSInliner(
        inline_style_tags=False,
        keep_style_tags=True,
        keep_link_tags=True,
        load_remote_stylesheets=False,
        extra_css=css,
    )


class EmailRenderer:
    def __init__(
        self,
        template_folder: str | Path,
        globals_: Mapping[str, Any] | None = None,
        *,
        auto_reload: bool = True,
    ):
        self.env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(str(template_folder)),
            undefined=jinja2.StrictUndefined,
            autoescape=jinja2.select_autoescape(enabled_extensions=("mjml", "html"), default=False),
            extensions=["jinja2.ext.i18n"],
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            # Outside development the files do not change while the app runs: no stat() per template use.
            auto_reload=auto_reload,
        )
        self.env.install_gettext_callables(_gettext, _ngettext, newstyle=True, pgettext=_pgettext)
        self.env.globals.update(globals_ or {})

    def compile_templates(self) -> list[str]:
        """Compile every e-mail template now; the names compiled. A worker does this once before it forks
        its work horses, which inherit the compiled templates instead of compiling them for every job. A
        template with a syntax error is left out here (rendering it says what is wrong)."""
        compiled = []
        for name in self.env.list_templates(filter_func=lambda name: name.startswith("email/")):
            try:
                self.env.get_template(name)
            except jinja2.TemplateSyntaxError:
                continue
            compiled.append(name)
        return compiled

    def render_template(self, name: str, context: Mapping[str, Any]) -> str:
        try:
            return self.env.get_template(name).render(context)
        except jinja2.TemplateNotFound as exc:
            raise RenderError(f"the e-mail template {exc.name} does not exist") from None
        except jinja2.UndefinedError as exc:
            raise RenderError(f"{name}: {exc.message}") from None
        except jinja2.TemplateSyntaxError as exc:
            raise RenderError(f"{exc.filename or name}, line {exc.lineno}: {exc.message}") from None

    def render(self, name: str, context: Mapping[str, Any], locale: str = "de") -> RenderedEmail:
        """Render the message ``email/NAME/`` in ``locale``: subject, HTML and text."""
        with force_locale(locale):
            token = _translations.set(get_translations())
            try:
                return self._render(name, {"locale": locale, **context})
            finally:
                _translations.reset(token)

    def render_mjml(self, name: str, context: Mapping[str, Any], locale: str = "de") -> str:
        """The MJML that :meth:`render` turns into the HTML of ``email/NAME/``: Jinja done, MJML not yet
        (the reference renderer is compared on it)."""
        with force_locale(locale):
            token = _translations.set(get_translations())
            try:
                ctx = {"locale": locale, **context}
                self._subject(name, ctx)
                return self.render_template(f"email/{name}/body.mjml", ctx)
            finally:
                _translations.reset(token)

    def _subject(self, name: str, ctx: dict[str, Any]) -> str:
        ctx["subject"] = " ".join(self.render_template(f"email/{name}/subject.txt", ctx).split())
        return ctx["subject"]

    def _render(self, name: str, ctx: dict[str, Any]) -> RenderedEmail:
        subject = self._subject(name, ctx)
        mjml_source = self.render_template(f"email/{name}/body.mjml", ctx)
        html = mjml_to_html(mjml_source, origin=f"email/{name}/body.mjml")
        text = self.render_template(f"email/{name}/body.txt", ctx).strip() + "\n"
        return RenderedEmail(subject=subject, html=html, text=text)


# Per-recipient slots in a rendered issue. Rendering happens once per issue and variant, never per
# reader: these tokens stand where a reader's own values go, and the send path replaces them in
# the finished HTML and text. They are plain ASCII letters and underscores, so Jinja's escaping and MJML
# leave them whole; fill them (or place them) before a transfer encoding, since quoted-printable may fold a
# long line inside one. The web version and the archive never contain them.
SLOTS: dict[str, str] = {
    "unsubscribe_url": "__BEITRAG_SLOT_UNSUBSCRIBE_URL__",
    "preferences_url": "__BEITRAG_SLOT_PREFERENCES_URL__",
    # The reader's own share link (readers.sharing), its place added by the template ("?via=footer").
    "share_url": "__BEITRAG_SLOT_SHARE_URL__",
}

# Gmail clips a message whose HTML passes about 102 KB ("[Message clipped]").
GMAIL_CLIP_BYTES = 102 * 1024


def fill_slots(rendered: RenderedEmail, values: Mapping[str, str]) -> RenderedEmail:
    """The rendered message with each slot replaced by ``values[name]`` (every slot must be given)."""
    html, text = rendered.html, rendered.text
    for name, token in SLOTS.items():
        html = html.replace(token, values[name])
        text = text.replace(token, values[name])
    return RenderedEmail(subject=rendered.subject, html=html, text=text)


def init_app(app: Flask) -> None:
    app.extensions[_EXTENSION_KEY] = EmailRenderer(
        app.config.get("EMAIL_TEMPLATE_FOLDER") or Path(app.root_path) / "templates",
        {
            "newsroom_name": app.config["NEWSROOM_NAME"],
            "postal_address": app.config["POSTAL_ADDRESS"],
            "base_url": app.config["BASE_URL"],
        },
        auto_reload=bool(app.config.get("DEVELOPMENT")),
    )


def get_renderer(app: Flask | None = None) -> EmailRenderer:
    return (app or current_app).extensions[_EXTENSION_KEY]


def render_email(name: str, context: Mapping[str, Any], locale: str = "de") -> RenderedEmail:
    return get_renderer().render(name, context, locale)
