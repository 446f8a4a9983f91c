"""The forms of the settings page."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from kernel.services.users import MIN_PASSWORD, PAGE_SIZES
from web import i18n
from web.forms import options


class PreferencesForm(FlaskForm):
    name = StringField(_l("Your name"), validators=[Length(max=200)],
                       render_kw={"autocomplete": "name"})
    locale = SelectField(_l("Interface language"), validate_choice=False,
                         choices=options((code, i18n.LOCALE_NAMES[code]) for code in i18n.LOCALES))
    timezone = SelectField(_l("Time zone"), validate_choice=False,
                           description=_l("Dates and times are shown in this time zone."))
    page_size = SelectField(_l("Tickets per page"), validate_choice=False,
                            choices=options((n, n) for n in PAGE_SIZES))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.timezone.choices = options(i18n.timezone_choices())


class PasswordForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired()],
                                     render_kw={"autocomplete": "current-password"})
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=MIN_PASSWORD, max=200)],
        description=_l("At least %(n)s characters.", n=MIN_PASSWORD),
        render_kw={"autocomplete": "new-password"})
    confirm = PasswordField(
        _l("Repeat the new password"),
        validators=[DataRequired(), EqualTo("new_password", message=_l("The passwords differ."))],
        render_kw={"autocomplete": "new-password"})


class TokenForm(FlaskForm):
    name = StringField(_l("Token name"), validators=[DataRequired(), Length(max=100)],
                       description=_l("Where the token is used, e.g. “1C integration”."))
