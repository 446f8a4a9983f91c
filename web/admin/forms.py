"""The forms of the admin screens. Labels through ``_l``; the kernel validates."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    HiddenField,
    IntegerField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.validators import DataRequired, Length, Optional

from web.forms import CheckboxList, options

KEY_HELP = _l("Latin lower-case letters, digits and “_”; cannot be changed later.")
TEMPLATE_HELP = _l("Variables: {year}, {month}, {day}, {type} and {seq} — the counter, "
                   "exactly once; e.g. REQ-{year}-{seq:05d}.")
REQUIRED = _l("This field is required.")
OTHER_LANGUAGE_HELP = _l("Shown to people who read in this language; empty: the text above "
                         "as written.")


def texts(label_ru, label_en, long: bool = False):
    """Two inputs: the text in Russian and in English (X2). An admin's word is shown
    in the viewer's language, else as written in the main input. Declare them right
    after the main input (``name_ru, name_en = texts(...)``): forms render fields in
    the order they were made."""
    if long:
        return tuple(TextAreaField(lbl, validators=[Length(max=2000)], render_kw={"rows": 2},
                                   description=OTHER_LANGUAGE_HELP)
                     for lbl in (label_ru, label_en))
    return tuple(StringField(lbl, validators=[Length(max=200)], description=OTHER_LANGUAGE_HELP)
                 for lbl in (label_ru, label_en))


NAME_TEXTS = (_l("Name in Russian"), _l("Name in English"))
LABEL_TEXTS = (_l("Label in Russian"), _l("Label in English"))
HELP_TEXTS = (_l("Help text in Russian"), _l("Help text in English"))


class TypeCreateForm(FlaskForm):
    key = StringField(_l("Key"), validators=[DataRequired(REQUIRED), Length(max=64)],
                      description=KEY_HELP)
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    name_ru, name_en = texts(*NAME_TEXTS)
    pipeline = SelectField(_l("Pipeline"), validate_choice=False)
    initial_status = SelectField(_l("Initial status"), validate_choice=False,
                                 description=_l("Empty: the first status of the pipeline."))
    number_template = StringField(_l("Numbering template"), default="{seq}",
                                  validators=[DataRequired(REQUIRED)], description=TEMPLATE_HELP,
                                  render_kw={"data-number-template": "", "class": "mono"})


class TypeEditForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    name_ru, name_en = texts(*NAME_TEXTS)
    initial_status = SelectField(_l("Initial status"), validate_choice=False)
    order = IntegerField(_l("Order in lists"), validators=[Optional()])
    is_active = BooleanField(_l("Active"),
                             description=_l("An inactive type cannot be chosen for new tickets; "
                                            "its tickets stay."))
    customer_can_create = BooleanField(_l("Customers can create it in the portal"))


class NumberingForm(FlaskForm):
    number_template = StringField(_l("Numbering template"), validators=[DataRequired(REQUIRED)],
                                  description=TEMPLATE_HELP,
                                  render_kw={"data-number-template": "", "class": "mono"})


class PipelineCreateForm(FlaskForm):
    key = StringField(_l("Key"), validators=[DataRequired(REQUIRED), Length(max=64)],
                      description=KEY_HELP)
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    name_ru, name_en = texts(*NAME_TEXTS)
    statuses = TextAreaField(
        _l("Statuses"), validators=[DataRequired(REQUIRED)],
        description=_l("One a line: key, name and group (open, closed_success or "
                       "closed_failure), e.g. “done, Done, closed_success”. No move is "
                       "allowed at first; tick the allowed ones on the pipeline's page."),
        render_kw={"rows": 6, "class": "mono"})


GROUP_CHOICES = [("open", _l("Open")), ("closed_success", _l("Closed: success")),
                 ("closed_failure", _l("Closed: failure"))]


class StatusForm(FlaskForm):
    key = StringField(_l("Key"), validators=[DataRequired(REQUIRED), Length(max=64)],
                      description=KEY_HELP)
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    name_ru, name_en = texts(*NAME_TEXTS)
    group = SelectField(_l("Group"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.group.choices = options((k, str(label)) for k, label in GROUP_CHOICES)


class StatusEditForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    name_ru, name_en = texts(*NAME_TEXTS)
    group = SelectField(_l("Group"), validate_choice=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.group.choices = options((k, str(label)) for k, label in GROUP_CHOICES)
    color = StringField(_l("Colour"), render_kw={"type": "color"},
                        description=_l("The dot on the status badge."))
    no_color = BooleanField(_l("No colour"))


class FieldEditForm(FlaskForm):
    label = StringField(_l("Label"), validators=[DataRequired(REQUIRED), Length(max=200)])
    label_ru, label_en = texts(*LABEL_TEXTS)
    help_text = TextAreaField(_l("Help text"), validators=[Length(max=2000)],
                              description=_l("Shown under the field in the form."),
                              render_kw={"rows": 2})
    help_text_ru, help_text_en = texts(*HELP_TEXTS, long=True)
    order = IntegerField(_l("Order"), validators=[Optional()],
                         description=_l("Smaller numbers come first."))
    required = BooleanField(_l("Required"))
    shown_in_list = BooleanField(_l("Shown in the ticket list"))
    shown_on_card = BooleanField(_l("Shown on the ticket card"))
    shown_to_customer = BooleanField(_l("Shown to the customer"))
    editable_by_customer = BooleanField(_l("The customer fills it in"))
    # Only on a custom field's page: a plugin's field keeps its plugin's types.
    ticket_types = CheckboxList(_l("Ticket types"), validate_choice=False,
                                description=_l("None ticked: every type. Values tickets "
                                               "already hold stay."))
    required_confirmed = BooleanField(
        _l("Existing tickets without a value keep none: it is asked for the next time "
           "each is saved"))


FIELD_TYPE_LABELS = [
    ("text", _l("Text")), ("long_text", _l("Long text")), ("number", _l("Number")),
    ("date", _l("Date")), ("datetime", _l("Date and time")), ("choice", _l("Choice")),
    ("multi_choice", _l("Several choices")), ("flag", _l("Yes / no")), ("phone", _l("Phone")),
    ("email", _l("E-mail")), ("file", _l("File")), ("reference", _l("Reference")),
]


class CustomFieldForm(FieldEditForm):
    key = StringField(_l("Key"), validators=[DataRequired(REQUIRED), Length(max=64)],
                      description=KEY_HELP)
    type = SelectField(_l("Type"), validate_choice=False)
    choice_list = SelectField(_l("Choice list"), validate_choice=False,
                              description=_l("For a choice field: a list kept under "
                                             "“Categories and lists”…"))
    choices = TextAreaField(_l("…or its own choices"),
                            description=_l("One a line: “value = label”, or just a label."),
                            render_kw={"rows": 4})
    reference = SelectField(_l("Refers to"), validate_choice=False,
                            description=_l("For a reference field."))
    ticket_types = CheckboxList(_l("Ticket types"), validate_choice=False,
                                description=_l("None ticked: every type."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.type.choices = options((k, str(label)) for k, label in FIELD_TYPE_LABELS)

    field_order = ("key", "label", "label_ru", "label_en", "type", "choice_list", "choices",
                   "reference", "ticket_types", "help_text", "help_text_ru", "help_text_en",
                   "order", "required", "shown_in_list", "shown_on_card", "shown_to_customer",
                   "editable_by_customer")


class ChoiceListForm(FlaskForm):
    key = StringField(_l("Key"), validators=[DataRequired(REQUIRED), Length(max=64)],
                      description=KEY_HELP)
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    name_ru, name_en = texts(*NAME_TEXTS)


class ChoiceItemForm(FlaskForm):
    value = StringField(_l("Value"), validators=[DataRequired(REQUIRED), Length(max=64)],
                        description=_l("Stored in tickets; cannot be changed later."))
    label = StringField(_l("Label"), validators=[DataRequired(REQUIRED), Length(max=200)])
    label_ru, label_en = texts(*LABEL_TEXTS)
    group = StringField(_l("Group"), validators=[Length(max=200)],
                        description=_l("Items of one group are shown together."))
    visible = BooleanField(_l("Shown in lists"), default=True)


class ChoiceEditForm(FlaskForm):
    value = HiddenField()
    label = StringField(_l("Label"), validators=[DataRequired(REQUIRED), Length(max=200)])
    label_ru, label_en = texts(*LABEL_TEXTS)
    group = StringField(_l("Group"), validators=[Length(max=200)])
    visible = BooleanField(_l("Shown in lists"))


class AgentForm(FlaskForm):
    email = EmailField(_l("E-mail"), validators=[DataRequired(REQUIRED), Length(max=254)])
    name = StringField(_l("Full name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    roles = CheckboxList(_l("Roles"), validate_choice=False)


class AgentEditForm(FlaskForm):
    name = StringField(_l("Full name"), validators=[Length(max=200)])
    roles = CheckboxList(_l("Roles"), validate_choice=False)


class RoleForm(FlaskForm):
    key = StringField(_l("Key"), validators=[DataRequired(REQUIRED), Length(max=64)],
                      description=KEY_HELP)
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    permissions = CheckboxList(_l("Permissions"), validate_choice=False)


class RoleEditForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(REQUIRED), Length(max=200)])
    permissions = CheckboxList(_l("Permissions"), validate_choice=False)
