"""The /users page's add-a-user form: what was typed (never the password) and each field's problem, in words."""

from dataclasses import dataclass, field

from app.utils.text import as_sentence

# The labels the form shows, which its messages start with.
FIELD_LABELS = {"email": "Email", "display_name": "Name", "password": "Password", "role": "Role"}


@dataclass(frozen=True, slots=True)
class NewUserForm:
    """The add-a-user form as sent back: the typed values and, by field name, why each could not be used."""

    email: str = ""
    display_name: str = ""
    role: str = "viewer"
    errors: dict[str, str] = field(default_factory=dict)

    @classmethod
    def refused(cls, *, email: str, display_name: str, role: str, problems: dict[str, str]) -> "NewUserForm":
        """The form again, its problems as sentences led by their field's label, in the form's order."""
        errors = {
            name: f"{label}: {as_sentence(problems[name])}" for name, label in FIELD_LABELS.items() if name in problems
        }
        return cls(email=email, display_name=display_name, role=role, errors=errors)
