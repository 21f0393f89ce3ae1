"""Points on a ring, measured in the image: sub-pixel radial peaks near clicks or all along a circle.

A ring crosses the radial line at right angles, so its position is best measured on a radial
profile. We sample the image on a small polar grid (radial steps of ``RADIAL_STEP`` px, tangential
lines 1 px apart along the arc, bilinear, as ``scipy.ndimage.map_coordinates``), average the
tangential lines (noise falls as their square root while the ring, following the arc, stays
sharp), smooth lightly, take the maximum and fit a parabola over the peak's top half for the
sub-pixel position. MuscleX takes the brightest of 1-px samples along one line; that leaves
whole-pixel steps, which is why it needs a 6-second global step to get back to sub-pixel accuracy.

A peak counts only if it lies inside the window (not on its edge: that is a slope, not a peak)
and stands out of the profile's noise; otherwise the point is reported as not refined.
Invalid or masked pixels are NaN in the working image and never contribute.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from calterm.core.common import sampling  # scipy.ndimage's calls without its 0.15 s import

RADIAL_STEP = 0.5  # px between radial samples
DEFAULT_WIDTH_PX = 3.0  # ring FWHM assumed until measured
MIN_SNR = 4.0  # peak height over the profile's noise for a peak to count


@dataclass(frozen=True)
class RadialPeaks:
    """Peak positions found along radial lines (one per line; ``ok`` False = no peak in window)."""

    points: np.ndarray  # (n, 2) x, y; the nominal point where ok is False
    radius: np.ndarray  # (n,) peak distance from the centre used
    ok: np.ndarray  # (n,) bool
    snr: np.ndarray  # (n,) peak height / noise


def working_image(data: np.ndarray, invalid: np.ndarray | None = None) -> np.ndarray:
    """float64 copy with NaN where pixels must not be used."""
    work = np.array(data, dtype=float)
    if invalid is not None:
        work[np.asarray(invalid, dtype=bool)] = np.nan
    work[~np.isfinite(work)] = np.nan
    return work


def polar_profiles(
    image: np.ndarray, center, angles: np.ndarray, radii: np.ndarray, search_px: float, arc_halfwidth_px: float
) -> tuple[np.ndarray, np.ndarray]:
    """Radial profiles (n, m) around ``radii`` at ``angles``, tangentially averaged over ±``arc_halfwidth_px``.

    Samples outside the image or touching an invalid pixel are NaN and left out of the average.
    """
    offsets = np.arange(-search_px, search_px + 1e-9, RADIAL_STEP)
    half = max(int(round(arc_halfwidth_px)), 0)
    tang = np.arange(-half, half + 1, dtype=float)
    r = radii[:, None, None] + offsets[None, None, :]  # (n, 1, m)
    theta = angles[:, None, None] + tang[None, :, None] / np.maximum(radii[:, None, None], 1.0)
    x = center[0] + r * np.cos(theta)
    y = center[1] + r * np.sin(theta)
    samples = sampling.map_coordinates_linear(image, y.ravel(), x.ravel())
    samples = samples.reshape(x.shape)
    if not np.isnan(samples).any():
        return samples.mean(axis=1), offsets
    with np.errstate(invalid="ignore"), _quiet_nanmean():
        profiles = np.nanmean(samples, axis=1)
    return profiles, offsets


class _quiet_nanmean:
    """Silence numpy's 'mean of empty slice' warning: an all-NaN column is simply missing."""

    def __enter__(self):
        import warnings

        self._ctx = warnings.catch_warnings()
        self._ctx.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._ctx.__exit__(*exc)


def _smoothed(profiles: np.ndarray, sigma_samples: float):
    """Profiles with NaN filled by the row median, smoothed along the radius; and the finite mask."""
    finite = np.isfinite(profiles)
    if finite.all():
        filled = profiles
    else:
        with _quiet_nanmean():
            row_median = np.nanmedian(profiles, axis=1, keepdims=True)
        filled = np.where(finite, profiles, np.where(np.isfinite(row_median), row_median, 0.0))
    return filled, sampling.gaussian_filter1d(filled, sigma_samples, axis=1, mode="nearest"), finite


def profile_peaks(profiles: np.ndarray, offsets: np.ndarray, width_px: float = DEFAULT_WIDTH_PX,
                  min_snr: float = MIN_SNR):
    """Sub-pixel peak offset, ok flag and signal-to-noise of each profile row.

    The background is taken as the straight line through the window's two ends and subtracted
    (diffuse scattering falls steeply near the beam; left in, its slope pulls every peak inwards
    by ~0.1 px on a 9 px wide ring). The peak is then a Gaussian fitted by weighted least squares
    to the logarithm of the samples above half height (weights y², Caruana's method): exact for a
    Gaussian ring whatever the sampling phase, where a parabola over the same samples wobbles by
    a tenth of a pixel. ``width_px`` (the ring's FWHM) sets the smoothing (a quarter of it: noise
    falls, a Gaussian stays Gaussian) and how far the fit may reach.
    """
    n, m = profiles.shape
    sigma = max(1.0, 0.25 * width_px / RADIAL_STEP)
    filled, smooth, finite = _smoothed(profiles, sigma)
    e = max(3, m // 10)
    left, right = filled[:, :e].mean(axis=1), filled[:, -e:].mean(axis=1)
    t_left, t_right = offsets[:e].mean(), offsets[-e:].mean()
    line = left[:, None] + (right - left)[:, None] * (offsets[None, :] - t_left) / (t_right - t_left)
    signal = smooth - line
    k = np.argmax(np.where(finite, signal, -np.inf), axis=1)
    rows = np.arange(n)
    top = signal[rows, k]
    # per-sample noise from first differences, scaled to the smoothed profile (Gaussian kernel gain)
    noise = 1.4826 * np.median(np.abs(np.diff(filled, axis=1)), axis=1) / np.sqrt(2)
    noise = noise / np.sqrt(2 * np.sqrt(np.pi) * sigma) + 1e-12
    snr = top / noise
    edge = max(2, int(round(sigma)))
    ok = (k >= edge) & (k <= m - 1 - edge) & (snr >= min_snr) & finite.any(axis=1)
    # the run of samples above half height around the maximum, at most ±HWHM (+ 2 samples) of the
    # smoothed peak; solved for every row at once
    reach = int(np.clip(np.ceil(0.6 * width_px / RADIAL_STEP) + 2, 3, 100))
    t = np.arange(-reach, reach + 1)
    idx = k[:, None] + t[None, :]
    inside = (idx >= 0) & (idx < m)
    idx = np.clip(idx, 0, m - 1)
    y = signal[rows[:, None], idx]
    near_nan = ~finite[rows[:, None], idx] & inside
    above = inside & ~near_nan & (y >= 0.5 * top[:, None]) & (y > 0)
    left_run = np.cumprod(above[:, :reach][:, ::-1], axis=1)[:, ::-1].astype(bool)
    right_run = np.cumprod(above[:, reach + 1:], axis=1).astype(bool)
    use = np.concatenate([left_run, np.ones((n, 1), bool), right_run], axis=1)
    use[:, reach - 1] |= inside[:, reach - 1] & (y[:, reach - 1] > 0)  # at least 3 samples
    use[:, reach + 1] |= inside[:, reach + 1] & (y[:, reach + 1] > 0)
    ok &= ~(near_nan & use).any(axis=1) & (use.sum(axis=1) >= 3)  # a peak touching missing samples is not measured
    w = np.where(use, np.clip(y, 0, None) ** 2, 0.0)
    logy = np.log(np.where(use, np.clip(y, 1e-300, None), 1.0))
    tt = t.astype(float)
    moments = [np.sum(w * tt ** p, axis=1) for p in range(5)]
    ys = [np.sum(w * logy * tt ** p, axis=1) for p in range(3)]
    a = np.stack([np.stack([moments[i + j] for j in range(3)], -1) for i in range(3)], -2)
    b = np.stack(ys, -1)
    scale = np.maximum(moments[0], 1e-300)[:, None, None]
    good = np.abs(np.linalg.det(a / scale)) > 1e-12
    coef = np.zeros((n, 3))
    coef[good] = np.linalg.solve(a[good], b[good][..., None])[..., 0]
    c1, c2 = coef[:, 1], coef[:, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        vertex = -c1 / (2 * c2)
    ok &= good & (c2 < 0)
    # a vertex outside the fitted top means an odd, flat or double peak: keep the sample maximum
    lo = np.where(use, tt, np.inf).min(axis=1)
    hi = np.where(use, tt, -np.inf).max(axis=1)
    vertex = np.where((vertex >= lo) & (vertex <= hi), vertex, 0.0)
    offset = offsets[k] + vertex * RADIAL_STEP
    return offset, ok, np.where(np.isfinite(snr), snr, 0.0)


def ring_width(image: np.ndarray, center, radius: float, max_px: float = 40.0) -> float:
    """The ring's FWHM in px: median over up to 24 sectors of 9 px of arc, each measured on its own profile.

    Each sector is measured about its own maximum, so an error of a few pixels in the circle does
    not broaden the estimate. ``DEFAULT_WIDTH_PX`` when no sector shows a clear peak.
    """
    n = int(np.clip(2 * np.pi * radius / 32.0, 8, 24))
    angles = (np.arange(n) + 0.5) * (2 * np.pi / n)
    angles = angles[_inside(image.shape, center, radius, angles)]
    if angles.size == 0:
        return DEFAULT_WIDTH_PX
    search = float(min(max_px, 0.5 * radius))
    profiles, offsets = polar_profiles(image, center, angles, np.full(angles.shape, float(radius)), search, 4.0)
    _, smooth, finite = _smoothed(profiles, 2.0)
    k = np.argmax(np.where(finite, smooth, -np.inf), axis=1)
    rows = np.arange(len(k))
    top = smooth[rows, k]
    base = np.minimum(smooth[:, :5].mean(axis=1), smooth[:, -5:].mean(axis=1))
    above = smooth >= (base + 0.5 * (top - base))[:, None]
    widths = []
    for i in rows:  # at most 64 short rows
        lo, hi = k[i], k[i]
        while lo > 0 and above[i, lo - 1]:
            lo -= 1
        while hi < smooth.shape[1] - 1 and above[i, hi + 1]:
            hi += 1
        if lo > 0 and hi < smooth.shape[1] - 1 and top[i] > base[i]:  # a complete peak inside the window
            widths.append((hi - lo + 1) * RADIAL_STEP)
    if len(widths) < 3:
        return DEFAULT_WIDTH_PX
    return float(np.clip(np.median(widths), 1.0, 2 * max_px))


def _inside(shape, center, radius, angles) -> np.ndarray:
    x = center[0] + radius * np.cos(angles)
    y = center[1] + radius * np.sin(angles)
    rows, cols = shape
    return (x >= -0.5) & (x <= cols - 0.5) & (y >= -0.5) & (y <= rows - 0.5)


def refine_radially(
    image: np.ndarray, center, points: np.ndarray, search_px: float, width_px: float = DEFAULT_WIDTH_PX,
    arc_halfwidth_px: float = 3.0, min_snr: float = MIN_SNR,
) -> RadialPeaks:
    """Move each point to the ring peak on the line from ``center`` through it, within ±``search_px``.

    A point with no peak within the window (its profile only rises towards an edge) stays put.
    """
    d = points - np.asarray(center, dtype=float)
    radii = np.hypot(d[:, 0], d[:, 1])
    angles = np.arctan2(d[:, 1], d[:, 0])
    # sample beyond the window so a broad ring's peak and background are measured, but accept
    # only peaks within ±search_px of the point
    margin = max(2.0, 0.75 * width_px)
    profiles, offsets = polar_profiles(image, center, angles, radii, search_px + margin, arc_halfwidth_px)
    offset, ok, snr = profile_peaks(profiles, offsets, width_px, min_snr)
    ok &= np.abs(offset) <= search_px
    r = np.where(ok, radii + offset, radii)
    out = np.column_stack([center[0] + r * np.cos(angles), center[1] + r * np.sin(angles)])
    out[~ok] = points[~ok]
    return RadialPeaks(out, r, ok, snr)


def sample_ring(
    image: np.ndarray, center, radius: float, search_px: float, width_px: float = DEFAULT_WIDTH_PX,
    sector_px: float = 8.0, min_snr: float = MIN_SNR,
) -> RadialPeaks:
    """Ring peaks all along the circle, one per sector of ``sector_px`` px of arc, inside the image only.

    Sectors whose centre line lies outside the image are skipped before sampling.
    """
    n = int(np.clip(2 * np.pi * radius / sector_px, 16, 4096))
    angles = (np.arange(n) + 0.5) * (2 * np.pi / n)
    angles = angles[_inside(image.shape, center, radius, angles)]
    if angles.size == 0:
        empty = np.zeros((0, 2))
        return RadialPeaks(empty, np.zeros(0), np.zeros(0, bool), np.zeros(0))
    radii = np.full(angles.shape, float(radius))
    half_arc = 0.5 * 2 * np.pi * radius / n
    profiles, offsets = polar_profiles(image, center, angles, radii, search_px, half_arc)
    offset, ok, snr = profile_peaks(profiles, offsets, width_px, min_snr)
    r = radius + offset
    pts = np.column_stack([center[0] + r * np.cos(angles), center[1] + r * np.sin(angles)])
    return RadialPeaks(pts, r, ok, snr)
