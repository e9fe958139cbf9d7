"""Build of the compiled scanner; everything else is in setup.cfg."""
from Cython.Build import cythonize
from setuptools import Extension, setup

setup(ext_modules=cythonize([Extension("lograd._scanner", ["lograd/_scanner.pyx"], extra_compile_args=["-O3"])],
                            language_level=3))
