"""The errors and exit statuses (SPEC §4) are said in one place: lograd.errors."""
import inspect
import os
import re

from lograd import errors


def test_each_named_error_exits_with_its_status():
    named = {cls.__name__: cls.status for cls in vars(errors).values()
             if inspect.isclass(cls) and issubclass(cls, errors.LogradError) and cls is not errors.LogradError}
    assert named == {"UsageError": 2, "NothingToRead": 2, "JobRefused": 2, "StateError": 2, "MissingKey": 2,
                     "NoWorkers": 3}
    for name in named:  # the tree in the module's docstring names each
        assert f"── {name}" in errors.__doc__


def test_commands_return_named_statuses_not_numbers():
    root = os.path.dirname(errors.__file__)
    for module in ("cli.py", "coordinator.py", "jobs/followjob.py", "jobs/sockets.py", "worker.py"):
        source = open(os.path.join(root, module)).read()
        assert not re.search(r"return [0-9]+\b|exit\([0-9]+\)", source), module
