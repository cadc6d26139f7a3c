"""Writes the .npy fixtures for tensor/npy_test.go with NumPy itself.

    /usr/bin/python3 tensor/testdata/gen.py
"""
import io
from pathlib import Path

import numpy as np
from numpy.lib import format as npf

HERE = Path(__file__).resolve().parent

a = (np.arange(2 * 3 * 5, dtype='<f4').reshape(2, 3, 5) - 7.5) / 4
np.save(HERE / 'f32_2x3x5.npy', a)
np.save(HERE / 'f32_scalar.npy', np.array(2.5, '<f4'))
np.save(HERE / 'f32_empty.npy', np.zeros((0, 4), '<f4'))
np.save(HERE / 'f32_vec.npy', np.array([1.0, -0.0, np.inf], '<f4'))
np.save(HERE / 'f64.npy', a.astype('<f8'))
np.save(HERE / 'i64.npy', np.arange(6, dtype='<i8'))
np.save(HERE / 'f32_big_endian.npy', a.astype('>f4'))
np.save(HERE / 'f32_fortran.npy', np.asfortranarray(a))
for version in ((2, 0), (3, 0)):
    with open(HERE / ('f32_v%d.npy' % version[0]), 'wb') as f:
        npf.write_array(f, a, version=version)
