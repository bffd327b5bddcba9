"""What "the app's code" is: the one rule the report, the server and the extension use to lead with the user's
functions rather than Twisted's or a framework's. Its TypeScript twin is ``protocol/userCode.ts``; both read the
cases of ``test/fixtures/usercode.json``.

A file is the app's when it is under one of ``include`` (the package of the module being run, the packages the
user names with ``--user-code``) or matches one of ``globs``; else it is library code when it is under one of
``library`` (the standard library, site-packages, this runtime) or its path looks like an installed package's
(``lib/pythonX.Y/``, ``site-packages``, ``dist-packages``) or it is not a file (``<frozen ...>``, ``<string>``);
everything else (the script's folder, the workspace) is the app's. The rule travels to the server as data (the
HELLO metadata's ``userCode``), so both sides decide the same way for the same run.
"""
from __future__ import annotations

import fnmatch
import importlib.util
import os
import re
import site
import sysconfig
from types import CodeType
from typing import Any, Dict, Iterable, List, Optional, Sequence

LIBRARY_PATH = re.compile(r"[\\/](?:lib[\\/]python\d+(?:\.\d+)?|site-packages|dist-packages)[\\/]", re.IGNORECASE)
# The package that provides the reactor is never the app, even when it is the module run (``-m twisted web``).
NEVER_APP_PACKAGES = ("twisted",)
_RUNTIME = os.path.dirname(os.path.abspath(__file__))


def _folder(path: str) -> str:
    path = os.path.abspath(path)
    return path if path.endswith(os.sep) else path + os.sep


def _under(path: str, folders: Sequence[str]) -> bool:
    return any(path.startswith(folder) for folder in folders)


class UserCode:
    def __init__(self, include: Iterable[str] = (), globs: Iterable[str] = (), library: Iterable[str] = ()) -> None:
        self.include: List[str] = [_folder(p) for p in include]
        self.globs: List[str] = list(globs)
        self.library: List[str] = [_folder(p) for p in library]
        self._by_file: Dict[str, bool] = {}

    def is_user_file(self, file: str) -> bool:
        try:
            return self._by_file[file]
        except KeyError:
            mine = self._by_file[file] = self._decide(file)
            return mine

    def is_user_code(self, code: CodeType) -> bool:
        return self.is_user_file(code.co_filename)

    def _decide(self, file: str) -> bool:
        if _under(file, self.include) or any(fnmatch.fnmatchcase(file, glob) for glob in self.globs):
            return True
        if not file or file.startswith("<") or _under(file, self.library) or LIBRARY_PATH.search(file):
            return False
        return True

    def describe(self) -> Dict[str, Any]:
        """The rule as data, for the HELLO metadata (``userCode``) and ``protocol/userCode.ts``."""
        return {"include": self.include, "globs": self.globs, "library": self.library}

    @classmethod
    def from_description(cls, description: Any) -> "UserCode":
        """The rule a session's HELLO metadata carries (``describe()``); a recording without one (an older shim)
        gets the fallback rule: library code is what ``LIBRARY_PATH`` matches, and what is not a file."""
        if not isinstance(description, dict):
            return cls()
        lists = [description.get(key) for key in ("include", "globs", "library")]
        include, globs, library = (list(value) if isinstance(value, list) else [] for value in lists)
        return cls(include, globs, library)


def library_folders() -> List[str]:
    """The standard library, every site-packages this interpreter reads, and this runtime."""
    folders = {_RUNTIME}
    paths = sysconfig.get_paths()
    for name in ("stdlib", "platstdlib", "purelib", "platlib"):
        if paths.get(name):
            folders.add(paths[name])
    try:
        folders.update(site.getsitepackages())
    except AttributeError:  # an old virtualenv's site module
        pass
    user_site = getattr(site, "getusersitepackages", lambda: None)()
    if user_site:
        folders.add(user_site)
    return sorted(folders)


def package_folder(name: str) -> Optional[str]:
    """The folder of a top-level package (or a module's file) by import name, found without importing it."""
    try:
        spec = importlib.util.find_spec(name.split(".")[0])
    except (ImportError, ValueError):
        return None
    if spec is None:
        return None
    if spec.submodule_search_locations:
        return list(spec.submodule_search_locations)[0]
    return spec.origin if spec.origin and os.path.isfile(spec.origin) else None


def build(module: Optional[str] = None, user_code: Sequence[str] = ()) -> UserCode:
    """The rule for one run: ``module`` is what ``-m`` runs; ``user_code`` holds package names or path globs."""
    include: List[str] = []
    globs: List[str] = []
    if module and module.split(".")[0] not in NEVER_APP_PACKAGES:
        _add_package(module, include, globs)
    for spec in user_code:
        if any(c in spec for c in "*?[") or os.sep in spec:
            globs.append(spec if any(c in spec for c in "*?[") else _folder(spec) + "*")
        else:
            _add_package(spec, include, globs)
    return UserCode(include, globs, library_folders())


def _add_package(name: str, include: List[str], globs: List[str]) -> None:
    folder = package_folder(name)
    if folder and os.path.isdir(folder):
        include.append(folder)
    elif folder:  # a single-file module: that file
        globs.append(os.path.abspath(folder))
