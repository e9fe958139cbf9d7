"""Build of the compiled scanner; everything else is in setup.cfg.

``LOGRAD_PROFILE`` (environment) makes one step of a profile-guided build (gcc), which
``python -m lograd.training build`` runs after the install: ``generate`` builds a scanner that
counts which way each of its branches goes (into build/profile/), ``use`` builds one laid out
for those counts. Without Cython (a rebuild in a venv that lacks it) the C file Cython wrote
for the install is compiled.
"""
import os

from setuptools import Extension, setup

PROFILE_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "build", "profile")
PROFILE_FLAGS = {
    "generate": ([f"-fprofile-generate={PROFILE_DIR}", "-fprofile-update=single"], ["-fprofile-generate"]),
    # functions the workload never ran stay optimised for speed, not size
    "use": ([f"-fprofile-use={PROFILE_DIR}", "-fprofile-partial-training", "-Wno-missing-profile"], []),
}
compile_flags, link_flags = PROFILE_FLAGS.get(os.environ.get("LOGRAD_PROFILE", ""), ([], []))
try:
    from Cython.Build import cythonize
except ImportError:
    cythonize = None
scanner = Extension("lograd._scanner", ["lograd/_scanner.pyx" if cythonize else "lograd/_scanner.c"],
                    extra_compile_args=["-O3", *compile_flags], extra_link_args=link_flags)
setup(ext_modules=cythonize([scanner], language_level=3) if cythonize else [scanner])
