"""Header facts read from files in each format's own layout: a miniCBF written with a real Pilatus
header block, an HDF5 file laid out as DECTRIS' Eiger master files, an EDF with ESRF SAXS keys, and
the real mar1200 and ADSC headers of the shared data (their values read off the header text)."""

from __future__ import annotations

import fabio.cbfimage
import fabio.edfimage
import h5py
import numpy as np
import pytest

from calterm.core.io.headers import header_facts, oriented_facts
from calterm.core.io.images import orient

PILATUS_HEADER = """
# Detector: PILATUS 1M, S/N 10-0101
# 2011/Feb/24 15:40:21.532
# Pixel_size 172e-6 m x 172e-6 m
# Silicon sensor, thickness 0.000320 m
# Exposure_time 1.0000000 s
# Exposure_period 1.0000000 s
# Tau = 199.1e-09 s
# Count_cutoff 1048575 counts
# Threshold_setting 6000 eV
# Wavelength 0.9537 A
# Detector_distance 0.31238 m
# Beam_xy (492.51, 525.22) pixels
# Start_angle 0.0000 deg.
"""


def test_minicbf_pilatus_header(tmp_path):
    path = tmp_path / "lab6_0001.cbf"
    fabio.cbfimage.CbfImage(data=np.zeros((64, 48), np.int32),
                            header={"_array_data.header_contents": PILATUS_HEADER}).write(str(path))
    facts = header_facts(path)
    assert facts.source == "miniCBF"
    assert facts.pixel_size_um == pytest.approx((172.0, 172.0))
    assert facts.wavelength_A == pytest.approx(0.9537)
    assert facts.distance_mm == pytest.approx(312.38)
    assert facts.center_xy == pytest.approx((492.51, 525.22))  # Beam_xy: (x = column, y = row)
    assert facts.detector == "PILATUS 1M"
    assert facts.as_dict()["keys"]["center_xy"] == "Beam_xy"


def _eiger_master(path, *, energy_only=False, units=True):
    """An Eiger master file as DECTRIS writes it (SI units in @units; beam centre in pixels)."""
    with h5py.File(path, "w") as h5:
        det = h5.create_group("entry/instrument/detector")
        for name, value, unit in (("x_pixel_size", 75e-6, "m"), ("y_pixel_size", 75e-6, "m"),
                                  ("beam_center_x", 251.5, "pixel"), ("beam_center_y", 262.25, "pixel"),
                                  ("detector_distance", 0.0812, "m")):
            ds = det.create_dataset(name, data=np.float32(value) if "pixel_size" in name else value)
            if units:
                ds.attrs["units"] = unit
        det.create_dataset("description", data=b"Dectris EIGER2 Si 250K")
        spec = det.create_group("detectorSpecific")
        spec.create_dataset("photon_energy", data=12398.419843320026).attrs["units"] = "eV"
        if not energy_only:
            beam = h5.create_group("entry/instrument/beam")
            beam.create_dataset("incident_wavelength", data=1.0).attrs["units"] = "angstrom"
        h5.create_dataset("entry/data/data", data=np.zeros((1, 512, 512), np.uint32))


@pytest.mark.parametrize("energy_only", [False, True])
def test_eiger_master_file(tmp_path, energy_only):
    path = tmp_path / "lab6_master.h5"
    _eiger_master(path, energy_only=energy_only)
    facts = header_facts(path)
    assert facts.source == "NeXus"
    assert facts.pixel_size_um == pytest.approx((75.0, 75.0), rel=1e-6)
    assert facts.distance_mm == pytest.approx(81.2)
    assert facts.center_xy == pytest.approx((251.5, 262.25))
    assert facts.wavelength_A == pytest.approx(1.0, rel=1e-9)
    assert facts.detector == "Dectris EIGER2 Si 250K"


def test_nexus_units_converted(tmp_path):
    path = tmp_path / "mm.nxs"
    with h5py.File(path, "w") as h5:
        det = h5.create_group("entry/instrument/detector")
        det.create_dataset("detector_distance", data=250.0).attrs["units"] = "mm"
        det.create_dataset("x_pixel_size", data=100.0).attrs["units"] = "um"
        det.create_dataset("y_pixel_size", data=100.0).attrs["units"] = "um"
        h5.create_group("entry/instrument/beam").create_dataset("incident_wavelength", data=0.0729).attrs["units"] = "nm"
    facts = header_facts(path)
    assert facts.distance_mm == pytest.approx(250.0) and facts.pixel_size_um == pytest.approx((100.0, 100.0))
    assert facts.wavelength_A == pytest.approx(0.729)


def test_edf_saxs_keys(tmp_path):
    path = tmp_path / "agbh.edf"
    header = {"PSize_1": "1.72e-04", "PSize_2": "1.72e-04", "SampleDistance": "1.5", "WaveLength": "1.0e-10",
              "Center_1": "420.5", "Center_2": "-12.0", "DetectorName": "Pilatus1M"}
    fabio.edfimage.EdfImage(data=np.zeros((40, 30), np.float32), header=header).write(str(path))
    facts = header_facts(path)
    assert facts.source == "EDF" and facts.pixel_size_um == pytest.approx((172.0, 172.0))
    assert facts.distance_mm == pytest.approx(1500.0) and facts.wavelength_A == pytest.approx(1.0)
    assert facts.center_xy == pytest.approx((420.5, -12.0)) and facts.detector == "Pilatus1M"


def test_no_facts_in_tiff_or_unreadable(tmp_path):
    from calterm.core.io.images import write_image

    write_image(tmp_path / "a.tif", np.zeros((8, 8), np.float32))
    assert header_facts(tmp_path / "a.tif").found == ()
    (tmp_path / "broken.cbf").write_bytes(b"not a cbf at all")
    assert header_facts(tmp_path / "broken.cbf").found == ()


def test_real_mar1200_header(realdata_path):
    facts = header_facts(realdata_path("agbe_60sec_006.mar1200"))
    assert facts.source == "mar345"
    assert facts.pixel_size_um == pytest.approx((150.0, 150.0))
    assert facts.wavelength_A == pytest.approx(1.54179)
    assert facts.distance_mm == pytest.approx(400.0)
    assert facts.center_xy == pytest.approx((600.0, 600.0))


def test_real_adsc_header(realdata_path):
    facts = header_facts(realdata_path("AgBe_Quantum.img"))
    assert facts.source == "ADSC"
    assert facts.pixel_size_um == pytest.approx((70.7, 70.7))
    assert facts.wavelength_A == pytest.approx(1.6083) and facts.distance_mm == pytest.approx(800.0)
    # BEAM_CENTER_X 108.8 mm (rows), BEAM_CENTER_Y 113.0 mm (columns), 0.0707 mm pixels
    assert facts.center_xy == pytest.approx((113.0 / 0.0707, 108.8 / 0.0707))


@pytest.mark.parametrize("rotate", [0, 90, 180, 270])
@pytest.mark.parametrize("flip", [None, "h", "v"])
def test_oriented_centre_follows_the_pixels(tmp_path, rotate, flip):
    """The header's centre, moved by oriented_facts, lands on the pixel orient() moved it to."""
    from calterm.core.io.headers import HeaderFacts

    shape = (7, 11)
    marker = np.zeros(shape)
    marker[2, 8] = 1.0  # row 2, column 8
    facts = oriented_facts(HeaderFacts(center_xy=(8.0, 2.0), pixel_size_um=(100.0, 50.0)), shape, rotate, flip)
    row, col = np.argwhere(orient(marker, rotate, flip) == 1.0)[0]
    assert facts.center_xy == pytest.approx((col, row))
    assert facts.pixel_size_um == ((50.0, 100.0) if rotate % 180 else (100.0, 50.0))
