"""The build step pyproject.toml cannot declare: compiling the message catalogues (.po -> .mo).

A wheel gets the .mo files in its build directory; an editable install (`pip install -e .`) gets
them beside the .po files in the source tree, where the package is imported from (they are not
committed: see .gitignore).
"""

import runpy
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
LOCALE = Path("communique", "locale")


class BuildWithCatalogues(build_py):
    """build_py, then the catalogues compiled where the installed package will read them."""

    def run(self) -> None:
        super().run()
        compile_catalogues = runpy.run_path(str(HERE / "communique" / "catalogues.py"))["compile_catalogues"]
        source = HERE / LOCALE
        if self.editable_mode:
            compile_catalogues(source)
        else:
            compile_catalogues(source, Path(self.build_lib) / LOCALE, force=True)


setup(cmdclass={"build_py": BuildWithCatalogues})
