"""Errors users see: each names the input and the problem in one line."""


class StorylineError(Exception):
    """Base class: the CLI and HTTP API turn these into one-line messages."""


class UsageError(StorylineError):
    """The command cannot run as given (an address of an unknown scheme, a store that is not
    there for a command that only reads): the CLI exits 2."""


class InputError(StorylineError):
    """An input file or record cannot be read as articles."""

    def __init__(self, where: str, problem: str):
        self.where, self.problem = where, problem
        super().__init__(f"{where}: {problem}")

    def __reduce__(self):  # crosses to and from worker processes
        return type(self), (self.where, self.problem)


class Unavailable(StorylineError):
    """The store cannot be reached for now (a database restarting, a network cut): try again later."""


class NotFoundError(StorylineError):
    """A story, article or feed the store does not hold."""


class SettingsError(StorylineError):
    """A setting is out of range or unknown."""


class NotFittedError(StorylineError):
    """A learned component was used before it was trained or loaded."""


class MissingExtraError(StorylineError):
    """A command needs an optional extra that is not installed."""


class FieldError(StorylineError):
    """A request field out of range or malformed: names the field (CLI: a one-line error, HTTP: 422)."""

    def __init__(self, field: str, problem: str):
        self.field, self.problem = field, problem
        super().__init__(f"{field}: {problem}")

    def __reduce__(self):
        return type(self), (self.field, self.problem)
